"""`interstore bench api`: the read API under HTTP load while ingest runs, against its floor
(``run`` describes the phases; ``floor`` the floor; ``ladder`` the rate ladders; ``vegeta`` the
load generator). ``command`` runs it ``--runs`` times after a warm-up run."""
