"""What every local-stack service provides: ports, preparation, a command and a readiness probe."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import StackSettings
from deploy.process import ManagedProcess


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)


class LocalService(ABC):
    """One daemon of the local stack, with its data and logs under ``var/<name>``."""

    name: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = settings.var_dir / self.name
        self.process = ManagedProcess(
            self.name,
            self.home / f"{self.name}.pid",
            self.home / "logs" / f"{self.name}.out",
            marker=str(self.home),
        )

    @abstractmethod
    def ports(self) -> dict[str, int]:
        """Ports this service listens on, by role; checked free before start."""

    @abstractmethod
    def prepare(self) -> None:
        """Fetch artifacts (idempotent, cached), write config files, format storage."""

    @abstractmethod
    def launch_spec(self) -> LaunchSpec:
        """The command that runs the service in the foreground."""

    @abstractmethod
    def probe(self) -> None:
        """Return if the service answers a protocol request (not a port check); else raise."""

    @property
    def primary_port(self) -> int:
        return next(iter(self.ports().values()))
