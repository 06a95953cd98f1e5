"""`interstore bench features`: the feature pipeline's cost to ingest, and its freshness."""
