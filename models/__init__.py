"""Model configurations, the feature graph resolver and matrices: pure domain logic."""
