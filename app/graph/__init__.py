"""The numpy computation-graph engine: ops, validation, forward and backward passes. Knows nothing of HTTP."""
