"""CPU sampling: of the processes under test (``ProcessCpu``), or of every process on the host
grouped (``GroupCpu``: named pids, the stack's services, "other"), and of the host as a whole:
busy, and stolen (``HostCpu``: the share of the CPUs the hypervisor gave to other guests, which
no process here could use; on a shared box it explains runs that are slower for no reason of
their own)."""

from __future__ import annotations

import resource
import time
from collections.abc import Mapping, Sequence
from typing import Any

import psutil


def host_busy(before: Any, after: Any) -> float:
    """Share of all the host's CPUs busy between two ``psutil.cpu_times()`` (stolen time counts
    as busy: it was not idle, and nothing here could run on it)."""
    total = sum(after) - sum(before)
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    return 1 - idle / total if total > 0 else 0.0


def host_steal(before: Any, after: Any) -> float:
    """Share of all the host's CPUs stolen by the hypervisor between two ``psutil.cpu_times()``
    (Linux's ``steal``; 0 where the platform does not report it)."""
    total = sum(after) - sum(before)
    stolen = getattr(after, "steal", 0.0) - getattr(before, "steal", 0.0)
    return stolen / total if total > 0 else 0.0


def steal_text(spread: Mapping[str, float]) -> str:
    """A steal's median and spread (``spread_of(result, "host.cpu.steal")``) as the report and
    the summary show it: one decimal, so 0.1% of steal does not read "0%"."""
    median, low, high = (f"{spread[key]:.1%}" for key in ("median", "min", "max"))
    return median if low == high else f"{median} ({low}-{high})"


class HostCpu:
    """The host's CPU, busy and stolen, from ``start`` to ``read``."""

    def start(self) -> None:
        self.began, self.before = time.monotonic(), psutil.cpu_times()

    def read(self) -> dict[str, float]:
        """``{"busy", "steal", "seconds"}`` since ``start`` (shares of all the host's CPUs)."""
        after = psutil.cpu_times()
        return {
            "busy": round(host_busy(self.before, after), 3),
            "steal": round(host_steal(self.before, after), 3),
            "seconds": round(time.monotonic() - self.began, 1),
        }


class ProcessCpu:
    """CPU seconds of some processes (their reaped children included) and the share of the host
    busy, from ``start`` to ``stop``."""

    def __init__(self, pids: Sequence[int]) -> None:
        self._processes = [psutil.Process(pid) for pid in pids]
        self._cpu: list[float] = []
        self._host = HostCpu()
        self.each_s: list[float] = []
        """Each process's CPU seconds between ``start`` and the last ``stop``, in pid order."""

    def _process_cpu(self) -> list[float]:
        each = []
        for process in self._processes:
            times = process.cpu_times()
            each.append(times.user + times.system + times.children_user + times.children_system)
        return each

    def start(self) -> None:
        self._cpu = self._process_cpu()
        self._host.start()

    def stop(self) -> tuple[float, float]:
        """(CPU seconds of the processes, share of the host busy) since ``start``."""
        now = self._process_cpu()
        self.each_s = [after - before for before, after in zip(self._cpu, now, strict=True)]
        return sum(self.each_s), self._host.read()["busy"]


class GroupCpu:
    """CPU per process group (in cores) and the share of the host busy, from ``start`` on;
    processes not named here are grouped as the stack's services or "other"."""

    SERVICES = (
        ("CassandraDaemon", "cassandra"),
        ("kafka.Kafka", "kafka"),
        ("redis-server", "redis"),
    )

    def __init__(self, named: Mapping[int, str]) -> None:
        self.named = dict(named)

    def _group(self, pid: int, cmdline: Sequence[str] | None) -> str:
        line = " ".join(cmdline or ())
        found = (name for needle, name in self.SERVICES if needle in line)
        return self.named.get(pid) or next(found, "other")

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        out = {}
        for proc in psutil.process_iter(["pid", "cmdline", "cpu_times"]):
            times = proc.info["cpu_times"]
            if times is not None:
                group = self._group(proc.info["pid"], proc.info["cmdline"])
                out[proc.info["pid"]] = (group, float(times.user + times.system))
        return out

    def start(self) -> None:
        self.host = HostCpu()
        self.host.start()
        self.before = self._snapshot()

    def read(self) -> dict[str, Any]:
        host, after = self.host.read(), self._snapshot()
        seconds = time.monotonic() - self.host.began
        groups: dict[str, float] = {}
        for pid, (group, cpu) in after.items():
            groups[group] = groups.get(group, 0.0) + cpu - self.before.get(pid, (group, 0.0))[1]
        return {
            "host_cpu_busy": host["busy"],
            "host_cpu_steal": host["steal"],
            "cpu_cores": {
                g: round(c / seconds, 2) for g, c in sorted(groups.items(), key=lambda x: -x[1])
            },
        }


def children_cpu_s() -> float:
    """CPU of the children this process has reaped (vegeta's runs, the floor processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
