"""The FastAPI read layer for rankers."""
