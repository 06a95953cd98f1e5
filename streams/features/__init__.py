"""The features worker: Faust agents that turn events into feature state and serving values."""
