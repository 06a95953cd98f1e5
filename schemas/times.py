"""The one parser of event times: ISO 8601 text to epoch milliseconds.

Used by the JSON ingest (``json_events.to_millis``) and the read API (``since``), so an ISO time
means the same millisecond everywhere. Integer arithmetic on timedeltas, never float seconds
(``datetime.timestamp() * 1000`` is 1 ms short for about 0.6% of times with milliseconds).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def iso_to_epoch_ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 time (without an offset: UTC), sub-millisecond parts
    rounded down (toward the past). ValueError if ``text`` is not ISO 8601."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // ONE_MS
