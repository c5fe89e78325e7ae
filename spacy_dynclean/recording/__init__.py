"""Recording: the span component, the callbacks that record its training dynamics, and the sample table."""
