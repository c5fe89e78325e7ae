"""Evaluation against gold: audits, comparisons and plots."""
