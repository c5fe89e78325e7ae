"""Cleaning: the contract, the detectors, the decision, the strategies and the run that ties them."""
