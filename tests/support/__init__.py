"""Test doubles shared by unit tests (never shipped: the wheel packages no ``tests``)."""
