"""`interstore topics create | describe` and `interstore produce FILE | --generate N`."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from core.clock import wall_clock_ms
from core.settings import load_settings
from interstore.demo_events import generate_events
from schemas.errors import InvalidEvent
from streams.outgoing import AcceptedLine, RejectedLine, parse_lines, prepare_event
from streams.producer import DeliveryFailed, DeliveryReport, EventProducer
from streams.topics import describe_topics, ensure_topics, topic_specs

topics_app = typer.Typer(help="The events topic and its dead-letter topic.")
console = Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)

LARGE_INPUT_BYTES = 16 * 2**20
"""Files at least this big get a progress bar even when stderr is not a terminal."""
LARGE_GENERATE = 100_000
PROGRESS_EVERY = 1_000
GENERATED_GAP_MS = 10.0

Item = AcceptedLine | RejectedLine


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    if ms < 0:
        return "forever"
    if ms % 86_400_000 == 0:
        return f"{ms // 86_400_000}d"
    return f"{ms / 3_600_000:g}h"


@topics_app.command("create")
def topics_create() -> None:
    """Create the events and dead-letter topics if missing (idempotent)."""
    settings = load_settings()
    created = ensure_topics(settings.kafka, settings.topics)
    for spec in topic_specs(settings.topics):
        verb = "created" if spec.name in created else "exists: "
        console.print(
            f"{verb} {spec.name} ({spec.partitions} partitions, retention "
            f"{_duration(spec.retention_ms)})"
        )


@topics_app.command("describe")
def topics_describe() -> None:
    """Partitions, replication and retention of both topics as the broker has them."""
    settings = load_settings()
    names = [spec.name for spec in topic_specs(settings.topics)]
    found = describe_topics(settings.kafka, names)
    table = Table(title="interstore topics")
    for column in ("topic", "partitions", "replication", "retention", "cleanup"):
        table.add_column(column)
    for name, info in found.items():
        if info is None:
            table.add_row(name, "[red]missing[/]", "", "", "")
        else:
            table.add_row(
                name,
                str(info.partitions),
                str(info.replication_factor),
                _duration(info.retention_ms),
                info.cleanup_policy or "-",
            )
    Console().print(table)
    if any(info is None for info in found.values()):
        raise typer.Exit(1)


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        events: int = task.fields.get("events", 0)
        rate = events / task.elapsed if task.elapsed else 0.0
        return Text(f"{events:,} events  {rate:,.0f}/s")


@dataclass
class _Tally:
    accepted: int = 0
    rejected: int = 0


def _send_all(
    items: Iterable[tuple[Item, int]],
    producer: EventProducer,
    progress: Progress,
    total: float | None,
) -> _Tally:
    """Send accepted items, report rejected ones; each item comes with its input size."""
    tally = _Tally()
    task = progress.add_task("producing", total=total, events=0)
    advance = 0
    for item, size in items:
        if isinstance(item, RejectedLine):
            tally.rejected += 1
            progress.console.print(
                f"line {item.line_no}: {item.reason}: {item.message}", markup=False
            )
        else:
            producer.send_prepared(item.event)
            tally.accepted += 1
        advance += size
        if (tally.accepted + tally.rejected) % PROGRESS_EVERY == 0:
            progress.update(task, advance=advance, events=tally.accepted)
            advance = 0
    progress.update(task, advance=advance, events=tally.accepted)
    return tally


def _file_items(stream: BinaryIO) -> Iterator[tuple[Item, int]]:
    sizes: list[int] = []

    def lines() -> Iterator[bytes]:
        for line in stream:
            sizes.append(len(line))
            yield line

    for item in parse_lines(lines(), clock=wall_clock_ms):
        yield item, sum(sizes)
        sizes.clear()


def _generated_items(count: int, users: int, seed: int) -> Iterator[tuple[Item, int]]:
    start_ms = wall_clock_ms() - int(count * GENERATED_GAP_MS)
    events = generate_events(users, count, seed, start_ms, mean_gap_ms=GENERATED_GAP_MS)
    for number, (kind, record) in enumerate(events, start=1):
        try:
            event = prepare_event(kind, record, now_ms=wall_clock_ms())
        except InvalidEvent as exc:
            yield RejectedLine(number, exc.reason, str(exc)), 1
            continue
        yield AcceptedLine(number, kind, record, event), 1


@dataclass
class _Input:
    items: Iterator[tuple[Item, int]]
    """Each accepted or rejected event, with its size in ``total``'s units."""
    total: float | None
    large: bool
    seed: int | None = None


def _input(
    file: str | None, generate: int | None, users: int, seed: int | None, stack: ExitStack
) -> _Input:
    if generate is not None:
        seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        items = _generated_items(generate, users, seed)
        return _Input(items, float(generate), generate >= LARGE_GENERATE, seed)
    if file is None or file == "-":
        return _Input(_file_items(sys.stdin.buffer), None, large=False)
    path = Path(file)
    if not path.exists() or path.is_dir():
        raise typer.BadParameter(f"{file} is not a file", param_hint="FILE")
    size = path.stat().st_size if path.is_file() else None  # a pipe has no size
    stream = stack.enter_context(path.open("rb"))
    return _Input(_file_items(stream), size, (size or 0) >= LARGE_INPUT_BYTES)


def _close(producer: EventProducer) -> DeliveryReport:
    try:
        return producer.close()
    except DeliveryFailed as exc:
        console.print(f"[bold red]delivery failed:[/] {exc}")
        return exc.report


def produce(
    file: Annotated[
        str | None,
        typer.Argument(metavar="FILE", help="JSON lines, one event per line; - reads stdin."),
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Topic to produce to.")] = None,
    generate: Annotated[
        int | None, typer.Option(help="Send N generated demo events instead of a file.", min=1)
    ] = None,
    users: Annotated[int, typer.Option(help="Distinct users of --generate.", min=1)] = 1_000,
    seed: Annotated[int | None, typer.Option(help="Seed of --generate (random if unset).")] = None,
) -> None:
    """Validate events (the worker's rules), send the good ones, report each bad one.

    Blank lines are skipped. Exits 1 if any line was rejected or any delivery failed.
    """
    if (file is None) == (generate is None):
        raise typer.BadParameter("give either FILE (- for stdin) or --generate N")
    settings = load_settings()
    topic = topic or settings.topics.events
    started = time.monotonic()
    with ExitStack() as stack:
        source = _input(file, generate, users, seed, stack)
        producer = stack.enter_context(EventProducer(settings.kafka, topic))
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            _RateColumn(),
            console=console,
            disable=not (console.is_terminal or source.large),
        )
        with progress:
            tally = _send_all(source.items, producer, progress, source.total)
        report = _close(producer)
    elapsed = time.monotonic() - started
    seeded = f", seed {source.seed}" if source.seed is not None else ""
    Console(soft_wrap=True, highlight=False, emoji=False).print(
        f"accepted {tally.accepted}, rejected {tally.rejected}, delivered {report.delivered}, "
        f"failed {report.failed + report.pending}: topic {topic} ({producer.partitions} "
        f"partitions), {elapsed:.1f} s, {report.delivered / elapsed:,.0f} events/s{seeded}"
    )
    if tally.rejected or not report.ok:
        raise typer.Exit(1)
