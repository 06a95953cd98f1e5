"""Faust settings that cut its per-message cost, for any of our Faust apps.

``QuietMonitor``: Faust's default ``Monitor`` sensor runs four hooks per record (message in,
stream event in and out, message out), each updating counters, timestamps and per-stream
dictionaries that only Faust's own /stats page reads. Our workers export their own Prometheus
metrics, so these hooks do nothing here; every other sensor hook (commits, rebalances, sends)
keeps the default behaviour. Pass it as ``faust.App(..., Monitor=QuietMonitor)``.
"""

from __future__ import annotations

from typing import Any

from faust.sensors import Monitor


class QuietMonitor(Monitor):
    """The default monitor without its per-record bookkeeping."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None
