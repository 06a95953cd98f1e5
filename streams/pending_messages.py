"""The messages early hydration has seen and the batch has not handled yet
(``streams.early_hydration``), each checked at most once.

Kept by (partition, key), then offset, in consumption order: an app_open's in-flight
interactions are its key's alone, not a scan of all. A message checked while pending
(``IngestPipeline.check``: decode and validate) is kept as its ``Accepted`` in its place, and
its batch takes it from there (``checked``) instead of checking it again. Only valid results are
kept (validity only grows with the clock: a ts too far ahead may be fine later), so a bad
message is checked again, and dead-lettered, by its batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from schemas.errors import SchemaError
from store.interactions import Interaction
from streams.ingest import Accepted, IngestPipeline
from streams.messages import Consumed, RawMessage, raw

Pending = Consumed | Accepted
"""A message seen and not handled yet: as it came, or its checked form once it was checked."""
_NONE_PENDING: dict[int, Pending] = {}


class PendingMessages:
    def __init__(self, pipeline: IngestPipeline) -> None:
        """Checks with ``pipeline.check`` (SchemaError for a bad message)."""
        self._pipeline = pipeline
        self._by_key: dict[tuple[int, bytes | None], dict[int, Pending]] = {}

    def add(self, message: Consumed) -> None:
        self._by_key.setdefault((message.partition, message.key), {})[message.offset] = message

    def offsets(self) -> list[tuple[int, int]]:
        """(partition, offset) of every pending message, sorted."""
        return sorted((p, offset) for (p, _), mine in self._by_key.items() for offset in mine)

    def before(self, message: Consumed) -> list[Pending]:
        """The pending messages of ``message``'s partition and key with lower offsets."""
        mine = self._by_key.get((message.partition, message.key), _NONE_PENDING)
        return [m for offset, m in mine.items() if offset < message.offset]

    def interactions_before(
        self, app_open: Consumed, ahead: Sequence[Consumed] = ()
    ) -> list[Interaction]:
        """The valid interactions of the app_open's partition and key consumed before it: the
        pending ones (checked and kept), then those of ``ahead`` (read past the stream by the
        look-ahead, not pending: checked, not kept). Bad ones are skipped (their batch
        dead-letters them)."""
        later = [m for m in ahead if m.key == app_open.key and m.partition == app_open.partition]
        checks: tuple[tuple[bool, Sequence[Pending]], ...] = (
            (True, self.before(app_open)), (False, later),
        )  # fmt: skip
        found: list[Interaction] = []
        now_ms = self._pipeline.clock_ms()
        for pending, messages in checks:
            for message in messages:
                try:
                    interaction = self.check(message, now_ms, keep=pending).interaction
                except SchemaError:
                    continue
                if interaction is not None:
                    found.append(interaction)
        return found

    def check(self, message: Pending, now_ms: int, *, keep: bool) -> Accepted:
        """The message checked, once: a ``keep`` one (pending) has its valid result kept in its
        place. SchemaError if it is bad (not kept: its batch checks it again)."""
        if isinstance(message, Accepted):
            return message
        accepted = self._pipeline.check(raw(message), now_ms)
        if keep:
            self._by_key[(message.partition, message.key)][message.offset] = accepted
        return accepted

    def checked(self, message: RawMessage) -> Accepted | None:
        """The message's checked form if it was checked (valid) while pending: its batch need
        not check it again. None: not checked, or not valid."""
        kept = self._by_key.get((message.partition, message.key), _NONE_PENDING).get(message.offset)
        if not isinstance(kept, Accepted) or kept.message.value != message.value:
            return None
        if kept.message is message:  # the batch consumer hands the same object to both
            return kept
        return Accepted(message, kept.kind, kept.user_id, kept.interaction, kept.ts_ms)

    def handled(self, messages: Sequence[RawMessage]) -> None:
        """After a batch is done: its messages are in a tier now (or dead-lettered)."""
        by_key = self._by_key
        for message in messages:
            where = (message.partition, message.key)
            mine = by_key.get(where)
            if mine is not None:
                mine.pop(message.offset, None)
                if not mine:
                    del by_key[where]

    def forget(self, partitions: Iterable[int]) -> None:
        """Drops every pending message of ``partitions``."""
        lost = set(partitions)
        for where in [where for where in self._by_key if where[0] in lost]:
            del self._by_key[where]
