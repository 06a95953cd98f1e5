"""`interstore bench hydrate`: how fast an app_open hydrates a user (``latency``: the worker's
figure, the outside figure, the raw floor), and what sessions save in cold writes (``writes``).

``run`` is one run; ``command`` runs it ``--runs`` times after a warm-up run.
"""
