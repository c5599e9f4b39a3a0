"""Control of the real test servers (Kafka, FerretDB) and of Lumbung processes under test."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import httpx2 as httpx

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "deploy" / "local"


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        import pytest

        if os.environ.get("LUMBUNG_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{name} is not set although make test should have started the server")
        pytest.skip(f"{name} not set: run through `make test`, which starts the real servers")
    return value


def server(name: str, action: str) -> None:
    """`kafka` or `ferretdb`, and start / stop / kill: the same scripts make test uses."""
    subprocess.run(["bash", str(LOCAL / f"{name}.sh"), action], check=True, cwd=ROOT, timeout=180)


def line_of_killed_script(tmp_path: Path, source: str, *args: str) -> str:
    """Run ``source`` as a script that prints a line and then SIGKILLs itself (as the chaos
    test and the OOM killer end an aggregator); return that line. Its own children may
    inherit its stdout, so the line is read, not the pipe to its end."""
    script = tmp_path / "child.py"
    script.write_text(source)
    log_path = tmp_path / "child.log"
    with log_path.open("w") as log:
        child = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
        )
        try:
            line = child.stdout.readline() if child.stdout else ""
            assert child.wait(timeout=90) == -signal.SIGKILL, log_path.read_text()
        finally:
            if child.stdout:
                child.stdout.close()
    return line


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LumbungProcess:
    """One `python -m services.<name>` (or the embedded platform) as a real OS process."""

    def __init__(self, module: str, env: Mapping[str, str], log_path: Path) -> None:
        self.module = module
        self.port = free_port()
        self.env = {
            **os.environ,
            **env,
            "LUMBUNG_PORT": str(self.port),
            "LUMBUNG_HOST": "127.0.0.1",
            "LUMBUNG_DEMO": "off",
        }
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> LumbungProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.module} did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a real crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class ForkLauncher:
    """Starts services through tests/forkserver.py (one preloaded parent, forked children)."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.log_dir = log_dir
        full_env = {**os.environ, **env, "LUMBUNG_HOST": "127.0.0.1", "LUMBUNG_DEMO": "off"}
        self.parent = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            env=full_env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.started = 0
        self.children: list[ForkedProcess] = []

    def start(self, module: str, timeout_s: float = 30) -> ForkedProcess:
        assert self.parent.stdin is not None and self.parent.stdout is not None
        port = free_port()
        self.started += 1
        log = self.log_dir / f"{module}-{self.started}.log"
        self.parent.stdin.write(f"{module} {port} {log}\n")
        self.parent.stdin.flush()
        child = ForkedProcess(int(self.parent.stdout.readline()), port, log)
        self.children.append(child)
        child.wait_healthy(timeout_s)
        return child

    def close(self) -> None:
        """Kill every child still running (they live in sessions of their own), then the
        parent: a forgotten child would keep its relay or consumer running after the test."""
        for child in self.children:
            child.kill()
        if self.parent.poll() is None:
            self.parent.kill()
            self.parent.wait(timeout=10)


class ForkedProcess:
    def __init__(self, pid: int, port: int, log: Path) -> None:
        self.pid, self.port, self.log = pid, port, log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                if not self.alive():
                    break
            time.sleep(0.05)
        text = self.log.read_text()[-3000:] if self.log.exists() else ""
        raise RuntimeError(f"forked service on {self.port} did not start: {text}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a real crash."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)


def wait_for(
    predicate: Callable[[], T],
    timeout_s: float = 30,
    interval_s: float = 0.2,
    what: str = "condition",
) -> T:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last={last!r}")
