"""The one ISO 8601 parser: exact milliseconds, and the same answer for ingest and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from api.params import parse_since
from schemas.json_events import to_millis
from schemas.times import iso_to_epoch_ms

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)


def exact_ms(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def test_a_time_float_seconds_got_1_ms_short_is_exact() -> None:
    text = "2039-07-06T01:24:33.693000+00:00"
    assert iso_to_epoch_ms(text) == 2_193_528_273_693
    assert parse_since(text) == to_millis(text) == 2_193_528_273_693


@given(moments)
def test_iso_times_parse_to_their_exact_millisecond(moment: datetime) -> None:
    assert iso_to_epoch_ms(moment.isoformat()) == exact_ms(moment)


@given(moments, st.sampled_from(["milliseconds", "microseconds", "seconds", "auto"]))
def test_ingest_and_the_api_agree_on_every_iso_time(moment: datetime, timespec: str) -> None:
    text = moment.isoformat(timespec=timespec)
    assert parse_since(text) == to_millis(text) == iso_to_epoch_ms(text)


@given(moments)
def test_a_time_without_an_offset_is_utc(moment: datetime) -> None:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    assert iso_to_epoch_ms(naive.isoformat()) == exact_ms(moment)
