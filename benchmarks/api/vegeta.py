"""vegeta, the open-loop HTTP load generator: installed by the benchmark (``go install`` of a
pinned version into ``.cache/``), run as ``vegeta attack`` at a constant rate, read back with
``vegeta report -type=json``.

vegeta sends request N at ``start + N/rate`` whatever the earlier ones are doing (it adds
workers as needed), so a slow answer does not delay the next request: no coordinated omission.
Its latencies run from the request's start to the end of reading the response.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.api.plan import KEPT_RATE
from benchmarks.harness.errors import BenchError
from benchmarks.harness.figures import percentile

VEGETA_MODULE = "github.com/tsenart/vegeta/v12"
VEGETA_VERSION = "v12.13.0"
GO = Path("/usr/local/go/bin/go")
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
VEGETA_BIN = CACHE / "bin" / "vegeta"
INSTALL_TIMEOUT_S = 600.0


def go_binary() -> str:
    go = shutil.which("go") or (str(GO) if GO.exists() else None)
    if go is None:
        raise BenchError(f"vegeta {VEGETA_VERSION} needs Go to install it: no `go` on PATH or {GO}")
    return go


def installed_version(go: str, binary: Path) -> str | None:
    """The vegeta module version built into ``binary`` (``go version -m``; ``go install``
    stamps no ``vegeta -version``), None if there is no such program."""
    if not binary.exists():
        return None
    done = subprocess.run(
        [go, "version", "-m", str(binary)], capture_output=True, text=True, timeout=30, check=False
    )
    for line in done.stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["mod", VEGETA_MODULE] and len(parts) > 2:
            return parts[2]
    return None


def ensure_vegeta() -> Path:
    """The pinned vegeta in ``.cache/bin``, installed with the Go toolchain if missing."""
    go = go_binary()
    if installed_version(go, VEGETA_BIN) == VEGETA_VERSION:
        return VEGETA_BIN
    env = {
        **os.environ,
        "GOBIN": str(VEGETA_BIN.parent),
        "GOMODCACHE": str(CACHE / "go" / "mod"),
        "GOPATH": str(CACHE / "go"),
        "GOFLAGS": "-modcacherw",  # so that the cache can be deleted without chmod
    }
    done = subprocess.run(
        [go, "install", f"{VEGETA_MODULE}@{VEGETA_VERSION}"],
        env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(
            f"go install {VEGETA_MODULE}@{VEGETA_VERSION} failed: {done.stderr[-2000:]}"
        )
    found = installed_version(go, VEGETA_BIN)
    if found != VEGETA_VERSION:
        raise BenchError(f"installed vegeta is version {found!r}, not {VEGETA_VERSION}")
    return VEGETA_BIN


@dataclass(frozen=True, slots=True)
class VegetaReport:
    """``vegeta report -type=json``: latencies in nanoseconds, rates per second."""

    requests: int
    rate: float
    """Requests/s the attacker actually sent."""
    throughput: float
    """Successful requests/s, counted until the last answer."""
    success: float
    latencies_ns: Mapping[str, int]
    status_codes: Mapping[str, int]
    errors: Sequence[str]
    wanted_rate: float = 0.0
    by_status: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per status class ("2xx", "503", "unanswered", "other"): p50/p99 ms (``status_latencies``)."""

    @classmethod
    def parse(
        cls, text: str, wanted_rate: float = 0.0, results_csv: Iterable[str] = ()
    ) -> VegetaReport:
        data = json.loads(text)
        return cls(
            requests=int(data["requests"]),
            rate=float(data["rate"]),
            throughput=float(data["throughput"]),
            success=float(data["success"]),
            latencies_ns={key: int(value) for key, value in data["latencies"].items()},
            status_codes={str(k): int(v) for k, v in (data.get("status_codes") or {}).items()},
            errors=list(data.get("errors") or []),
            wanted_rate=wanted_rate,
            by_status=status_latencies(results_csv),
        )

    def ms(self, key: str) -> float:
        return round(self.latencies_ns[key] / 1e6, 3)

    @property
    def not_2xx(self) -> int:
        """Answers outside 2xx, and requests with no answer (vegeta's status 0)."""
        return sum(n for code, n in self.status_codes.items() if not code.startswith("2"))

    def share(self, status: str) -> float:
        """Share of the requests answered with this status ("0": no answer)."""
        return self.status_codes.get(status, 0) / self.requests if self.requests else 0.0

    @property
    def share_2xx(self) -> float:
        ok = sum(n for code, n in self.status_codes.items() if code.startswith("2"))
        return ok / self.requests if self.requests else 0.0

    @property
    def answered_or_shed(self) -> bool:
        """Every request answered 2xx or shed at once with a 503 (never left unanswered)."""
        return self.requests > 0 and self.share_2xx + self.share("503") >= 1.0

    @property
    def all_ok(self) -> bool:
        return self.requests > 0 and self.success >= 1.0 and self.not_2xx == 0

    @property
    def kept_rate(self) -> bool:
        return self.rate >= KEPT_RATE * self.wanted_rate

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "rate_wanted": self.wanted_rate,
            "rate_sent": round(self.rate, 1),
            "throughput": round(self.throughput, 1),
            "success": self.success,
            "status_codes": dict(self.status_codes),
            "not_2xx": self.not_2xx,
            "share_2xx": round(self.share_2xx, 5),
            "share_503": round(self.share("503"), 5),
            "share_other": round(max(0.0, 1.0 - self.share_2xx - self.share("503")), 5),
            "errors": list(self.errors[:5]),
            "by_status": {name: dict(q) for name, q in self.by_status.items()},
            "p99_2xx_ms": self.by_status.get("2xx", {}).get("p99_ms", 0.0),
            "p50_ms": self.ms("50th"),
            "p90_ms": self.ms("90th"),
            "p99_ms": self.ms("99th"),
            "max_ms": self.ms("max"),
            "mean_ms": self.ms("mean"),
        }


def status_class(code: str) -> str:
    if code.startswith("2"):
        return "2xx"
    return {"503": "503", "0": "unanswered"}.get(code, "other")


def status_latencies(results_csv: Iterable[str]) -> dict[str, dict[str, float]]:
    """From the lines of ``vegeta encode --to csv`` (timestamp, code, latency ns, ..., the
    body in base64): per status class the count and p50/p99 latency in ms, so the p99 of 2xx
    answers is not hidden among fast 503s or 5 s timeouts. Only the first three fields are read
    (a body can be far over the csv module's field limit)."""
    seconds: dict[str, list[float]] = {}
    for line in results_csv:
        fields = line.split(",", 3)
        if len(fields) > 2 and fields[2].isdigit():
            seconds.setdefault(status_class(fields[1]), []).append(int(fields[2]) / 1e6)
    return {
        name: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.5), 3),
            "p99_ms": round(percentile(values, 0.99), 3),
        }
        for name, values in sorted(seconds.items())
    }


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    body: bytes | None = None


def targets_lines(requests: Sequence[Request], headers: Mapping[str, str]) -> str:
    """vegeta's JSON targets format, one request a line (it cycles through them in order)."""
    lines = []
    for request in requests:
        target: dict[str, Any] = {
            "method": request.method,
            "url": request.url,
            "header": {name: [value] for name, value in headers.items()},
        }
        if request.body is not None:
            target["body"] = base64.b64encode(request.body).decode()
        lines.append(json.dumps(target))
    return "\n".join(lines) + "\n"


class Vegeta:
    """Attacks from a targets file in ``workdir``; each attack's raw results are kept there."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.attacks = 0

    def attack(
        self, requests: Sequence[Request], headers: Mapping[str, str], rate: float,
        duration_s: float, timeout_s: float = 5.0,
    ) -> VegetaReport:  # fmt: skip
        """``rate`` requests/s for ``duration_s`` (open loop), then the report of every result."""
        self.attacks += 1
        targets = self.workdir / f"targets-{self.attacks}.jsonl"
        results = self.workdir / f"results-{self.attacks}.bin"
        targets.write_text(targets_lines(requests, headers))
        attack = [
            str(self.binary), "attack", "-format=json", f"-targets={targets}",
            f"-rate={round(rate)}/s", f"-duration={duration_s:g}s", f"-timeout={timeout_s:g}s",
            f"-output={results}",
        ]  # fmt: skip
        done = subprocess.run(
            attack, capture_output=True, text=True, timeout=duration_s + 120, check=False
        )
        if done.returncode != 0:
            raise BenchError(f"vegeta attack failed ({done.returncode}): {done.stderr[-2000:]}")
        report = subprocess.run(
            [str(self.binary), "report", "-type=json", str(results)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if report.returncode != 0:
            raise BenchError(f"vegeta report failed: {report.stderr[-2000:]}")
        encode = [str(self.binary), "encode", "--to", "csv", str(results)]
        with subprocess.Popen(encode, stdout=subprocess.PIPE, text=True) as encoding:
            assert encoding.stdout is not None
            parsed = VegetaReport.parse(report.stdout, rate, results_csv=encoding.stdout)
        if encoding.returncode != 0:
            raise BenchError(f"vegeta encode failed ({encoding.returncode})")
        results.unlink(missing_ok=True)  # large at high rates; the report holds the figures
        return parsed
