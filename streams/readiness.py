"""``GET /readyz`` of a Faust worker: ready while its consumer holds partitions of its topics.

A worker that holds none (the group is rebalancing, it has not joined yet, or there are more
workers than partitions) consumes nothing: a Kubernetes readiness probe then holds a rolling
update until the new pod really took over partitions. The answer names them, so an operator
(and ``bench ingest --workers``) sees the assignment per process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust


def readiness(partitions: Iterable[int | str], rebalancing: bool) -> tuple[dict[str, Any], int]:
    """The page's JSON body and status: 200 with the held partitions, else 503."""
    held = [] if rebalancing else sorted(partitions, key=str)
    if held:
        return {"status": "ready", "partitions": held}, 200
    reason = "rebalancing" if rebalancing else "no partitions assigned"
    return {"status": "not ready", "reason": reason, "partitions": []}, 503


def add_readiness_page(app: faust.App, held: Callable[[], Iterable[int | str]]) -> None:
    """Serve ``/readyz`` from ``held()``: what the app's consumer holds now."""

    @app.page("/readyz")
    async def ready_page(web: Any, request: Any) -> Any:
        body, status = readiness(held(), bool(app.rebalancing))
        return web.json(body, status=status)
