"""Poison records (a tombstone, an empty value, no key) never stop ingest: the processor that
sees each message before its batch skips them, and the batch dead-letters each with its reason
while the events around it are stored."""

from __future__ import annotations

from dataclasses import dataclass

from streams.messages import RawMessage
from tests.support.memory_dead_letters import InMemoryDeadLetterSink
from tests.unit.streams.test_early_hydration import Early
from tests.unit.streams.world import TOPIC, app_open, click


@dataclass
class FaustLikeMessage:
    """What Faust hands the processor for a tombstone: ``value`` is None."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    time_in: float | None = None


async def test_a_tombstone_an_empty_value_and_a_keyless_record_are_dead_lettered() -> None:
    e = Early()
    good = e.messages([click(0), app_open(1), click(2)])
    offset = good[-1].offset
    tombstone = FaustLikeMessage(TOPIC, 0, offset + 1, b"u1", None)
    empty = FaustLikeMessage(TOPIC, 0, offset + 2, b"u1", b"")
    keyless = RawMessage(TOPIC, 0, offset + 3, None, good[0].value)
    after = e.messages([click(5)])
    after = [RawMessage(TOPIC, 0, offset + 4, m.key, m.value) for m in after]
    seen = [*good[:2], tombstone, empty, keyless, good[2], *after]
    for message in seen:
        e.early.seen(message)  # raised TypeError for the tombstone before: the agent restarted
    await e.early.wait()
    batch = [RawMessage.from_faust(m) if not isinstance(m, RawMessage) else m for m in seen]
    await e.process(batch)

    sink = e.world.dead_letters
    assert isinstance(sink, InMemoryDeadLetterSink)
    reasons = {letter.message.offset: letter.reason for letter in sink.letters}
    assert reasons == {
        offset + 1: "empty_value",
        offset + 2: "empty_value",
        offset + 3: "missing_key",
    }
    assert sorted(await e.view() or []) == ["c0", "c2", "c5"]
