"""The Faust app and its agents: ingest, sessions, features."""
