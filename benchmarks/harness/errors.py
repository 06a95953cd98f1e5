"""The one error of the benchmarks."""

from __future__ import annotations

from core.errors import InterstoreError


class BenchError(InterstoreError):
    """A benchmark could not run to the end (a process died, stalled or never got ready)."""
