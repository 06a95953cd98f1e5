"""The operator commands: ``interstore replay``, ``interstore inspect user``,
``interstore forget user``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from core.settings import load_settings

inspect_app = typer.Typer(help="Look at one user across the tiers.", no_args_is_help=True)
forget_app = typer.Typer(help="Forget a user in every tier.", no_args_is_help=True)


def features_rebuild(
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="ISO 8601 time, epoch ms, or 'earliest' (the default): the recomputed groups "
            "get only the events at or after it (per partition, the broker's offsets-for-times "
            "lookup), so their windows hold no older event.",
        ),
    ] = None,
    rate: Annotated[float | None, typer.Option(min=1, help="Events per second at most.")] = None,
    groups: Annotated[
        str | None,
        typer.Option(
            "--groups",
            help="Comma-separated feature groups: recompute only their entities (from --from "
            "on, if given); the other entities are carried over from the current generation "
            "unchanged. Refused if another group's definition changed since the current "
            "generation was built.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Also print the summary as JSON.")
    ] = False,
) -> None:
    """Recompute the feature store from the events topic into a new generation (with the
    definitions file of the settings), then switch readers and the features worker to it at
    once; the old generation is dropped after the switch."""
    from ops.features_rebuild_command import run_rebuild
    from ops.replay_plan import parse_time

    named = None if groups is None else [g.strip() for g in groups.split(",") if g.strip()]
    summary = run_rebuild(
        load_settings(),
        parse_time(start or "earliest"),
        Console(stderr=True),
        rate=rate,
        groups=named,
    )
    if json_out:
        sys.stdout.write(orjson.dumps(summary.to_json()).decode() + "\n")


def replay(
    start: Annotated[
        str | None,
        typer.Option("--from", help="ISO 8601 time, epoch ms, or 'earliest' (the default)."),
    ] = None,
    from_offsets: Annotated[
        Path | None,
        typer.Option(help='JSON file {"topic": {"partition": offset}}: start there instead.'),
    ] = None,
    to: Annotated[
        str | None, typer.Option(help="End time (exclusive); default: the end when first run.")
    ] = None,
    topics: Annotated[
        list[str] | None, typer.Option("--topics", help="Topics (default: the events topic).")
    ] = None,
    users: Annotated[
        Path | None, typer.Option(help="A file of user ids, one a line: only their events.")
    ] = None,
    target: Annotated[
        str,
        typer.Option(
            help="What to rebuild, comma-separated: cold, features (the current "
            "generation of the feature store)."
        ),
    ] = "cold",
    rate: Annotated[float | None, typer.Option(min=1, help="Events per second at most.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the ranges and counts; write nothing.")
    ] = False,
    no_dlq: Annotated[
        bool, typer.Option("--no-dlq", help="Count bad messages, do not dead-letter them.")
    ] = False,
    group: Annotated[
        str | None, typer.Option(help="The checkpoint's consumer group (default: from the range).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Also print the summary as JSON.")
    ] = False,
) -> None:
    """Replay a range of the events topic into the cold tier and/or the feature store: own
    consumer group, the workers' rules, idempotent, rate-limited, resumable (rerun the same
    command), with progress."""
    from ops.replay_command import ReplayRequest, run_replay
    from ops.replay_plan import ReplayPlanError, parse_time

    settings = load_settings()
    if start is not None and from_offsets is not None:
        raise ReplayPlanError("give --from or --from-offsets, not both")
    end_at = parse_time(to) if to is not None else None
    if end_at == "earliest":
        raise ReplayPlanError("--to takes a time, not 'earliest'")
    request = ReplayRequest(
        topics=tuple(topics or (settings.topics.events,)),
        start_at=None if from_offsets else parse_time(start or "earliest"),
        offsets_file=from_offsets, end_at=end_at if isinstance(end_at, int) else None,
        users_file=users, targets=tuple(t.strip() for t in target.split(",") if t.strip()),
        rate=rate, dry_run=dry_run, dead_letters=not no_dlq, group=group,
    )  # fmt: skip
    console = Console(stderr=True)
    try:
        summary = run_replay(settings, request, console)
    except KeyboardInterrupt:
        console.print("interrupted: run the same command again to resume from the checkpoint")
        raise typer.Exit(130) from None
    if json_out:
        sys.stdout.write(orjson.dumps(summary.to_json()).decode() + "\n")


@inspect_app.command("user")
def inspect_user(
    user_id: str,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Whether the user is live, its interactions in hot and cold, any tombstone."""
    from ops.inspect import inspect_user_report, print_report

    report = inspect_user_report(load_settings(), user_id)
    if json_out:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
    else:
        print_report(report, Console())


@forget_app.command("user")
def forget_user(
    user_id: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Erase the user's interactions in every tier, end its session without a flush, and
    record a tombstone so no late event, redelivery or replay brings them back."""
    from ops.forget import forget

    report = forget(load_settings(), user_id, reason=reason)
    if json_out:
        sys.stdout.write(orjson.dumps(report.to_json()).decode() + "\n")
    else:
        Console().print(
            f"forgot {user_id}: {sum(report.cold_rows.values())} cold rows, "
            f"{report.hot_interactions} hot entries (live: {report.was_live}), "
            f"{report.feature_states} feature states; tombstone at "
            f"{report.forgotten_at_ms}; audit {report.audit_id}",
            highlight=False,
        )
