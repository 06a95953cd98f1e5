"""Letting the stack digest what a benchmark just loaded before it measures anything.

`bench hydrate` writes each user's cold history (400,000 rows at its defaults, 2,040,000 for
`bench hydrate-sustained`) just before its app-open phase; whatever Cassandra still does with
them (flushes, compactions) would run on the same two cores as the worker under test.
``settle_stack`` waits until the stack's services are quiet, and the result says how long that
took (``figures.hydration.stack_settle``). Measured in the tenth session: 3-5 s at `bench
hydrate`'s defaults, the shortest wait there is, so the load was not what made some runs slow
(DESIGN §15); the wait stays as a guard and a record.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console

from benchmarks.harness.cpu import GroupCpu

MOST_S = 180.0
QUIET_CORES = 0.15
"""The stack's services together under this many cores..."""
QUIET_SAMPLES = 3
"""...over this many one-second samples in a row."""


def settle_stack(console: Console, most_s: float = MOST_S, sample_s: float = 1.0) -> dict[str, Any]:
    """Wait until Cassandra, Kafka and Redis together use under ``QUIET_CORES`` for
    ``QUIET_SAMPLES`` samples in a row, or ``most_s`` passed: the seconds waited, whether the
    stack got quiet, and its cores in the first sample."""
    services = [name for _, name in GroupCpu.SERVICES]
    began = time.monotonic()
    quiet, first = 0, None
    with console.status("waiting for the stack to settle after the load") as status:
        while quiet < QUIET_SAMPLES and time.monotonic() - began < most_s:
            cpu = GroupCpu({})
            cpu.start()
            time.sleep(sample_s)
            cores = cpu.read()["cpu_cores"]
            busy = sum(cores.get(name, 0.0) for name in services)
            first = busy if first is None else first
            quiet = quiet + 1 if busy < QUIET_CORES else 0
            status.update(f"waiting for the stack to settle: {busy:.2f} cores")
    waited, settled = round(time.monotonic() - began, 1), quiet >= QUIET_SAMPLES
    if settled:
        console.print(f"stack settled in {waited:.0f}s")
    else:
        console.print(f"[yellow]stack still busy after {waited:.0f}s: measuring anyway[/]")
    return {"waited_s": waited, "settled": settled, "first_cores": first}
