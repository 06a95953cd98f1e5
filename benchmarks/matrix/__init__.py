"""`interstore bench matrix`: model matrices and :rank vs the raw MGET floor and Feast."""
