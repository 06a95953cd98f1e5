"""The stack's bad cases give one clear line (and a log tail where it helps), never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import StackSettings
from deploy.errors import JavaNotFoundError, NotReadyError, PortInUseError
from deploy.java import find_java17
from deploy.process import ManagedProcess, port_in_use, wait_until_ready
from deploy.stack import LocalStack


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_port_in_use_is_detected(taken_port: int) -> None:
    assert port_in_use(taken_port)


def test_up_refuses_a_taken_port_naming_it(taken_port: int, tmp_path: Path) -> None:
    stack = LocalStack(StackSettings(var_dir=tmp_path, redis_port=taken_port))
    with pytest.raises(PortInUseError, match=f"port {taken_port} \\(redis\\) is already in use"):
        stack.up()


def test_cli_prints_one_line_error_and_exits_non_zero(taken_port: int, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "INTERSTORE_STACK_VAR_DIR": str(tmp_path),
        "INTERSTORE_STACK_REDIS_PORT": str(taken_port),
        "COLUMNS": "300",
    }
    result = subprocess.run(
        [sys.executable, "-m", "interstore.cli", "stack", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert f"port {taken_port}" in error_lines[0]


def test_missing_java_17_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match="INTERSTORE_STACK_JAVA_HOME"):
        find_java17(tmp_path)


def test_a_process_that_dies_at_start_reports_its_log(tmp_path: Path) -> None:
    process = ManagedProcess("doomed", tmp_path / "p.pid", tmp_path / "p.log", marker="doomed")
    process.start(["sh", "-c", "echo 'fatal: bad config' ; exit 3", "doomed"], {}, tmp_path)

    def never_ready() -> None:
        raise ConnectionError("refused")

    with pytest.raises(NotReadyError, match="exited during start-up") as caught:
        wait_until_ready(never_ready, timeout_s=10, process=process, interval_s=0.05)
    assert "fatal: bad config" in str(caught.value)


def test_a_process_that_never_answers_times_out_with_its_log(tmp_path: Path) -> None:
    process = ManagedProcess("sleepy", tmp_path / "p.pid", tmp_path / "p.log", marker="sleepy")
    process.start(["sh", "-c", "echo 'still booting'; sleep 30", "sleepy"], {}, tmp_path)

    def never_ready() -> None:
        raise ConnectionError("refused")

    try:
        with pytest.raises(NotReadyError, match="not ready after 1s") as caught:
            wait_until_ready(never_ready, timeout_s=1, process=process, interval_s=0.05)
        assert "still booting" in str(caught.value)
        assert "refused" in str(caught.value)
    finally:
        assert process.stop(timeout_s=5)
    assert process.pid() is None


def test_a_recycled_pid_is_not_ours(tmp_path: Path) -> None:
    process = ManagedProcess("mine", tmp_path / "p.pid", tmp_path / "p.log", marker="no-such")
    (tmp_path / "p.pid").write_text(f"{os.getpid()}\n")  # alive, but not started by us
    assert process.pid() is None
    assert not process.stop()
