"""The registered detectors, one module per family."""
