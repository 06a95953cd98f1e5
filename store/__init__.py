"""Cold (Cassandra/Scylla), hot (Redis/Dragonfly) and feature stores behind narrow interfaces."""
