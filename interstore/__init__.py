"""interstore: event-streaming interaction store and feature pipeline for real-time ranking."""

__version__ = "0.1.0"
