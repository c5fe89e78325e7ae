"""Evidence: what a cleaning reads (the corpus with its dynamics, held-out and out-of-fold evidence, text structure, scores and thresholds)."""
