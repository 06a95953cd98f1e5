"""The root of every error interstore raises on purpose."""


class InterstoreError(Exception):
    """Base class: every package's own errors derive from it."""
