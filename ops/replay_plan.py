"""What a replay reads: per topic partition, a range of offsets, and where it has got to.

The start comes from a time (the broker's offsets-for-times lookup) or from an offsets file; the
end from ``--to`` (the same lookup) or, without it, the high watermark when the replay first ran.
The checkpoint is the replay's own consumer group in Kafka: its committed offset per partition
is the next offset to read, and the commit's metadata pins the range (``start:end``), so a rerun
of the same command after Ctrl-C or SIGKILL continues where it stopped and ends where the first
run would have, and a run over a range already done reads nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import OFFSET_INVALID, Consumer, KafkaException, TopicPartition

from core.errors import InterstoreError

TIMEOUT_S = 10.0


class ReplayPlanError(InterstoreError):
    """A replay's range cannot be worked out (bad time, bad offsets file, unknown topic)."""


def parse_time(text: str) -> int | str:
    """Epoch ms from an ISO 8601 time or an integer of epoch ms; or the word "earliest"."""
    if text == "earliest":
        return text
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReplayPlanError(
            f"cannot read the time {text!r}: use ISO 8601 (2026-12-01T10:00:00Z), epoch "
            "milliseconds, or 'earliest'"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def read_offsets_file(path: Path) -> dict[tuple[str, int], int]:
    """``{"topic": {"partition": offset, ...}, ...}`` -> {(topic, partition): offset}."""
    try:
        raw = orjson.loads(path.read_bytes())
        return {
            (topic, int(partition)): int(offset)
            for topic, partitions in raw.items()
            for partition, offset in partitions.items()
        }
    except (OSError, orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        raise ReplayPlanError(
            f"{path}: expected a JSON object of topic -> {{partition: offset}}: {exc}"
        ) from exc


def group_name(prefix: str, request: Mapping[str, Any]) -> str:
    """The replay's consumer group: the same request (range, topics, users, target) gives the
    same group, so rerunning a command resumes it."""
    digest = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{prefix}-{digest[:12]}"


@dataclass(frozen=True, slots=True)
class PartitionRange:
    topic: str
    partition: int
    start: int
    end: int
    """Exclusive."""
    position: int
    """The next offset to read: ``start``, or the checkpoint of an earlier run."""

    @property
    def total(self) -> int:
        return max(self.end - self.start, 0)

    @property
    def remaining(self) -> int:
        return max(self.end - self.position, 0)

    def checkpoint(self, position: int) -> TopicPartition:
        return TopicPartition(
            self.topic, self.partition, position, metadata=f"{self.start}:{self.end}"
        )


def _partitions(consumer: Consumer, topics: Sequence[str]) -> list[tuple[str, int]]:
    metadata = consumer.list_topics(timeout=TIMEOUT_S)
    found: list[tuple[str, int]] = []
    for topic in topics:
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            raise ReplayPlanError(f"topic {topic!r} does not exist")
        found += [(topic, p) for p in sorted(info.partitions)]
    return found


def offsets_at(consumer: Consumer, wanted: Iterable[tuple[str, int]], at: int | str) -> dict[
    tuple[str, int], int
]:  # fmt: skip
    """Per partition, the first offset at or after ``at`` (the end if none; the low watermark
    for "earliest")."""
    wanted = list(wanted)
    out: dict[tuple[str, int], int] = {}
    marks = {tp: consumer.get_watermark_offsets(TopicPartition(*tp), TIMEOUT_S) for tp in wanted}
    if at == "earliest":
        return {tp: low for tp, (low, _) in marks.items()}
    found = consumer.offsets_for_times(
        [TopicPartition(t, p, int(at)) for t, p in wanted], TIMEOUT_S
    )
    for tp in found:
        key = (tp.topic, tp.partition)
        out[key] = marks[key][1] if tp.offset < 0 else tp.offset
    return out


def plan_ranges(
    consumer: Consumer,
    topics: Sequence[str],
    *,
    start_at: int | str | None,
    end_at: int | None,
    offsets: Mapping[tuple[str, int], int] | None = None,
) -> list[PartitionRange]:
    """The ranges to read, resumed from the group's committed offsets where an earlier run of
    the same range left them."""
    try:
        everything = _partitions(consumer, topics)
        if offsets is not None:
            unknown = sorted(set(offsets) - set(everything))
            if unknown:
                raise ReplayPlanError(f"the offsets file names unknown partitions {unknown}")
            starts = dict(offsets)
        else:
            starts = offsets_at(
                consumer, everything, start_at if start_at is not None else "earliest"
            )
        marks = {
            tp: consumer.get_watermark_offsets(TopicPartition(*tp), TIMEOUT_S) for tp in starts
        }
        ends = (
            {tp: high for tp, (_, high) in marks.items()}
            if end_at is None
            else offsets_at(consumer, starts, end_at)
        )
        committed = consumer.committed([TopicPartition(*tp) for tp in starts], TIMEOUT_S)
    except KafkaException as exc:
        raise ReplayPlanError(f"cannot plan the replay: {exc}") from exc
    previous = {(c.topic, c.partition): c for c in committed}
    ranges = []
    for tp, start in sorted(starts.items()):
        start = max(start, marks[tp][0])  # below the low watermark: deleted by Kafka's retention
        end, position = ends[tp], start
        checkpoint = previous.get(tp)
        if checkpoint is not None and checkpoint.offset != OFFSET_INVALID and checkpoint.metadata:
            first, _, last = checkpoint.metadata.partition(":")
            start, end, position = int(first), int(last), checkpoint.offset
        ranges.append(PartitionRange(tp[0], tp[1], start, end, min(max(position, start), end)))
    return ranges
