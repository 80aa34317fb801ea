"""HTTP routers: thin adapters from JSON requests to the engine and the training jobs."""
