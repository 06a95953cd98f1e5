"""Fetch a component's jars from Maven Central into the git-ignored cache, once."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from deploy.errors import FetchError

POMS = Path(__file__).resolve().parent / "maven"
DONE_MARKER = ".complete"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def fetch_libs(component: str, properties: dict[str, str], cache_dir: Path, dest: Path) -> Path:
    """Copy the runtime dependencies of ``deploy/maven/<component>/pom.xml`` into ``dest``.

    ``properties`` override the pom's (versions). A marker file makes a finished fetch reusable;
    a half-finished one is redone.
    """
    if (dest / DONE_MARKER).exists():
        return dest
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError("Maven (mvn) is not installed: apt-get install maven")
    pom = POMS / component / "pom.xml"
    shutil.rmtree(dest, ignore_errors=True)
    argv = [
        mvn, "-B", "-q", "-f", str(pom),
        f"-Dmaven.repo.local={cache_dir / 'm2'}",
        *(f"-D{key}={value}" for key, value in properties.items()),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={dest}",
        "-DincludeScope=runtime",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = ANSI_ESCAPE.sub("", result.stdout + result.stderr)
        errors = [ln.removeprefix("[ERROR] ") for ln in output.splitlines() if "[ERROR]" in ln]
        detail = errors[0] if errors else output.strip().replace("\n", " ")[-400:]
        raise FetchError(
            f"fetching {component} ({', '.join(f'{k}={v}' for k, v in properties.items())}) "
            f"from Maven Central failed: {detail}"
        )
    (dest / DONE_MARKER).write_text("ok\n")
    return dest
