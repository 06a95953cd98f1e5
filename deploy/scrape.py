"""Reading an interstore daemon's /metrics page (Prometheus text exposition).

The one parser of that text in the project: the benchmarks and the integration tests read the
worker's and the API's counters and histograms through it. It lives in ``deploy/`` (which starts
and watches those daemons) because that is the lowest layer both may import: ``benchmarks`` is a
top-level package that runtime code and tests' support code must not depend on.

Lines are scanned, not parsed into families: a benchmark polls a worker ten times a second and the
scan costs microseconds. Label values of interstore's metrics hold no commas, quotes or braces.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator, Sequence

Sample = tuple[dict[str, str], float]


def scrape(url: str, timeout_s: float = 5.0) -> str:
    """The text of a /metrics page; ``urllib.error.URLError`` or ``OSError`` while it is not up."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - our URL
        return bytes(response.read()).decode()


def _labels(inside: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in inside.split(","):
        key, _, value = pair.partition("=")
        if key:
            labels[key.strip()] = value.strip().strip('"')
    return labels


def metric_samples(exposition: str, name: str) -> list[Sample]:
    """Every sample of exactly ``name`` in the text, with its labels."""
    samples: list[Sample] = []
    for line in exposition.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        rest = line[len(name) :]
        if rest[:1] not in ("{", " "):
            continue  # another metric whose name starts with this one
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            inside, _, rest = rest[1:].partition("} ")
            labels = _labels(inside)
        samples.append((labels, float(rest.split()[0])))
    return samples


def all_samples(exposition: str) -> Iterator[tuple[str, str, dict[str, str], float]]:
    """Every sample of the page: (name, its family's type from the ``# TYPE`` line before it,
    or "untyped", labels, value)."""
    family, kind = "", "untyped"
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            family, kind = (parts[2], parts[3]) if len(parts) >= 4 else ("", "untyped")
            continue
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, inside = head.partition("{")
        if not name.startswith(family):
            family, kind = "", "untyped"
        yield name, kind, _labels(inside.rstrip("}")), float(value)


def metric_sum(exposition: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets); 0 if there is none."""
    return sum(value for _, value in metric_samples(exposition, name))


def metric_sums_by(expositions: Sequence[str], name: str, label: str) -> dict[str, float]:
    """Per value of ``label``, the sum of the samples of ``name`` over several pages (one per
    process), sorted by the label's value."""
    total: dict[str, float] = {}
    for exposition in expositions:
        for labels, value in metric_samples(exposition, name):
            key = labels.get(label, "")
            total[key] = total.get(key, 0.0) + value
    return dict(sorted(total.items()))


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        value
        for found, value in metric_samples(exposition, name)
        if all(found.get(key) == wanted for key, wanted in labels.items())
    )


def histogram_buckets(exposition: str, name: str, **labels: str) -> list[tuple[float, float]]:
    """A histogram's cumulative ``(upper bound, count)`` buckets, ``+Inf`` last (of the series
    whose labels include ``labels``)."""
    buckets = [
        (float(found["le"]), value)
        for found, value in metric_samples(exposition, f"{name}_bucket")
        if "le" in found and all(found.get(key) == wanted for key, wanted in labels.items())
    ]
    return sorted(buckets)


def bucket_delta(
    after: Sequence[tuple[float, float]], before: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """What a histogram counted between two scrapes (``before`` empty: since the start)."""
    earlier = dict(before)
    return [(bound, count - earlier.get(bound, 0.0)) for bound, count in after]


def histogram_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float:
    """The ``q`` quantile from cumulative buckets, as Prometheus computes it: linear within the
    bucket the rank falls in (from 0 for the first); in the ``+Inf`` bucket, the largest finite
    bound (a lower bound of the truth)."""
    if not 0 <= q <= 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    ordered = sorted(buckets)
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        raise ValueError("the histogram counted nothing")
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank and count > lower_count:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound
