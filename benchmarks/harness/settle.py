"""Letting the stack digest what a benchmark just loaded before it measures anything.

`bench hydrate` writes each user's cold history (400,000 rows at its defaults, 2,040,000 for
`bench hydrate-sustained`) seconds before its app-open phase; Cassandra then flushes and compacts
them for tens of seconds, on the same two cores as the worker under test. Measured that way, the
phase was timing a bulk load's aftermath, not the hot path (DESIGN §15, tenth session).
``settle_stack`` waits until the stack's services are quiet again, and says how long it took.
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
