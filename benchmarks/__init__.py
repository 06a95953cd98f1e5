"""Benchmarks against the local stack (DESIGN 10): `interstore bench NAME`, `make bench`.

Each benchmark measures its headline figure and a raw-client baseline in the same run, prints a
table and writes ``benchmarks/results/NAME.json``. Benchmarks report numbers; they are never
timed tests.
"""
