"""Features: definitions, per-entity aggregation state (tiles), evaluation (pure domain)."""
