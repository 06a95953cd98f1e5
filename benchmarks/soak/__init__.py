"""``interstore soak``: steady ingest and API reads while faults are injected in turn, then a
check of every produced event against what was stored and dead-lettered (DESIGN 14)."""
