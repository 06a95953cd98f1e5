"""Models: a model's feature graph declared in YAML, resolved into levels at load, and the
matrix (and scores) it produces for a context and its candidates. Pure: no FastAPI, no drivers;
features are read through the ``FeatureSource`` protocol (``features.reader.FeatureReader``)."""
