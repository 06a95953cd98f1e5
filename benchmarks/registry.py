"""The benchmarks ``interstore bench`` knows, by name: ``bench NAME`` runs one, ``make bench``
runs them all (``interstore bench all``) and ``bench report`` tabulates their result files.

Registering a benchmark is one line here: its command name and the module that defines it. Its
result file is ``benchmarks/results/NAME.json`` with any dash of the name an underscore
(``features-read`` writes ``features_read.json``). That module
(see ``benchmarks/README.md``) defines

- ``command``: the typer command function (its options; its docstring is the help), which
  builds the params and calls ``harness.command.run_benchmark`` (warm-up, ``--runs``, result
  file, summary), importing anything heavy inside the function;
- ``HEADLINES``: ``harness.repeat.Headline`` figures for the summary and the README's table.
"""

from __future__ import annotations

BENCHMARKS: dict[str, str] = {
    "ingest": "benchmarks.ingest.command",
    "hydrate": "benchmarks.hydrate.command",
    "hydrate-sustained": "benchmarks.hydrate.sustained",
    "api": "benchmarks.api.command",
    "replay": "benchmarks.replay.command",
    "features-read": "benchmarks.features_read.command",
    "features": "benchmarks.features.command",
    "matrix": "benchmarks.matrix.command",
    "capacity": "benchmarks.capacity.command",
}
