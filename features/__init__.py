"""Feature definitions, the catalogue, serving values and the reader: pure domain logic."""
