"""`interstore bench features-read`: POST /v1/features:get against the raw MGET floor."""
