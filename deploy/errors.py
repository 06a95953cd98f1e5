"""Errors of the local stack: each prints as one clear line."""

from core.errors import InterstoreError


class StackError(InterstoreError):
    """Something about the local stack went wrong; the message says what and what to do."""


class PortInUseError(StackError):
    pass


class JavaNotFoundError(StackError):
    pass


class FetchError(StackError):
    pass


class NotReadyError(StackError):
    pass
