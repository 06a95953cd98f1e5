"""The local stack: Kafka (KRaft), Cassandra and Redis run as plain processes, no Docker."""
