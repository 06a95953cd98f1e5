"""Storage behind narrow interfaces; the only package that talks to Cassandra and Redis.

The cold tier (Cassandra/Scylla): ``cold.ColdStore``, ``cassandra_cold.CassandraColdStore``.
The hot tier (Redis/Dragonfly): ``hot.HotReads`` (what the read path needs) and ``hot.HotStore``
(sessions, for the worker), ``redis_hot.RedisHotStore``. The worker's durability watermarks:
``watermarks``. Reads across both tiers for the API: ``read_path.InteractionReader``. In-memory
stores for unit tests live with the tests (``tests/support``), not here.
"""
