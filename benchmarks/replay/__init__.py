"""`interstore bench replay`: replay into the cold tier against the raw-client limit and the
live worker's write-through, in the same run."""
