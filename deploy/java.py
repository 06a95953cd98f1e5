"""Find a Java 17 runtime: Cassandra 5.0 runs on 17, not on 24+."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from deploy.errors import JavaNotFoundError

REQUIRED_MAJOR = 17
JVM_ROOT = Path("/usr/lib/jvm")


def java_major(java: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _candidates(configured: Path | None) -> list[Path]:
    if configured is not None:
        return [configured / "bin" / "java"]
    found: list[Path] = []
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path).resolve())
    if JVM_ROOT.is_dir():
        found.extend(sorted(JVM_ROOT.glob("*/bin/java")))
    return found


def find_java17(configured: Path | None = None) -> Path:
    """The path of a Java 17 ``java`` binary, or a clear error saying how to get one."""
    for java in _candidates(configured):
        if java.exists() and java_major(java) == REQUIRED_MAJOR:
            return java
    where = f"at {configured}" if configured else "on PATH or under /usr/lib/jvm"
    raise JavaNotFoundError(
        f"no Java {REQUIRED_MAJOR} found {where}: install it (apt-get install "
        f"openjdk-{REQUIRED_MAJOR}-jre-headless) or set INTERSTORE_STACK_JAVA_HOME to a Java "
        f"{REQUIRED_MAJOR} home"
    )
