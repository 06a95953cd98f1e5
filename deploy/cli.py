"""`interstore stack up | down | status | fetch`."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from core.settings import load_settings
from deploy.app_processes import app_processes
from deploy.redis_cluster import cluster_url
from deploy.stack import LocalStack, ServiceStatus

stack_app = typer.Typer(help="The local stack: Kafka (KRaft), Cassandra and Redis, no Docker.")
console = Console(stderr=True)


def _report(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}")


def _stack() -> LocalStack:
    return LocalStack(load_settings().stack)


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f} MiB"


def status_table(statuses: list[ServiceStatus]) -> Table:
    table = Table(title="interstore local stack")
    for column in ("service", "state", "port", "pid", "memory (RSS)"):
        table.add_column(column)
    colours = {"ready": "green", "starting": "yellow", "stopped": "red"}
    for s in statuses:
        state = f"[{colours.get(s.state, 'white')}]{s.state}[/]"
        table.add_row(s.name, state, str(s.port), str(s.pid or "-"), _mib(s.rss_bytes))
    total = sum(s.rss_bytes or 0 for s in statuses)
    table.add_row("total", "", "", "", _mib(total), style="bold")
    return table


@stack_app.command()
def fetch() -> None:
    """Fetch artifacts (Maven jars, Redis package) and write configs; start nothing."""
    _stack().fetch(_report)


@stack_app.command()
def up(
    redis_cluster: bool = typer.Option(
        False,
        "--redis-cluster",
        help="Also start a local 3-primary Redis Cluster (INTERSTORE_STACK_REDIS_CLUSTER_*); "
        "point the project at it with INTERSTORE_REDIS_URL and INTERSTORE_REDIS_CLUSTER=true.",
    ),
) -> None:
    """Start every service that is not running and wait until each one answers."""
    started = time.monotonic()
    settings = load_settings().stack
    if redis_cluster:
        settings = settings.model_copy(update={"redis_cluster": True})
    stack = LocalStack(settings)
    results = stack.up(_report)
    if settings.redis_cluster:
        _report(
            f"redis cluster: INTERSTORE_REDIS_URL={cluster_url(settings)} "
            "INTERSTORE_REDIS_CLUSTER=true"
        )
    fresh = [r.name for r in results if r.started]
    what = f"started {', '.join(fresh)}" if fresh else "already running"
    _report(f"stack ready in {time.monotonic() - started:.1f}s ({what})")


@stack_app.command()
def down() -> None:
    """Stop the API, the worker and the features worker `interstore demo` started, then the
    services `up` started."""
    settings = load_settings()
    for process in app_processes(settings):
        if process.stop():
            _report(f"stopped {process.name}")
    stopped = _stack().down(_report)
    if not stopped:
        _report("nothing was running")


@stack_app.command()
def status() -> None:
    """Each service's state, port, pid and resident memory. Exit 1 unless all are ready."""
    statuses = _stack().status()
    Console().print(status_table(statuses))
    if any(s.state != "ready" for s in statuses):
        raise typer.Exit(1)
