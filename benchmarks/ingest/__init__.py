"""`interstore bench ingest`: events/s from the first produce to the last interaction stored,
on every path a user's events take.

One run generates and encodes N events once, then measures, each on a fresh topic and keyspace
(dropped afterwards; ``run``):

- producer only: ``EventProducer.send_prepared`` of all N events to a topic nobody reads;
- baseline, the raw limit (``raw``): plain confluent-kafka + decode + cassandra-driver in a
  process of its own;
- worker, session path (``worker``): the real ``interstore worker``; every generated session
  starts with an app_open, so the users' interactions go to their live sessions in Redis;
- worker, write-through path: the same events without their app_opens (10,000 users with no
  session), so the worker writes every interaction straight to Cassandra.

Both worker paths are compared with the same run's baseline, with the worker's CPU per event.
How each is measured and verified: ``measure``. The command (``command``) runs it ``--runs``
times after a warm-up run (``benchmarks.harness.repeat``).
"""
