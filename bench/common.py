"""Helpers every figure shares: progress, statistics, processes, tokens, machine facts."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
_T0 = time.monotonic()


def say(*parts: Any) -> None:
    """Progress on stderr, with the seconds since the bench started."""
    print(f"[bench {time.monotonic() - _T0:6.1f}s]", *parts, file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return float(ordered[rank - 1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=1)
        try:
            conn.request("GET", parts.path or "/")
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s}s")


class Server:
    """A real OS process serving HTTP on loopback (a Lumbung service or the bare app)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = name
        self.log = log
        full = {
            **os.environ,
            **env,
            "LUMBUNG_HOST": "127.0.0.1",
            "LUMBUNG_PORT": str(self.port),
            "LUMBUNG_DEMO": "off",
        }
        args = [a.replace("{port}", str(self.port)) for a in args]
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            args, env=full, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )

    def start(self, timeout_s: float = 60) -> Server:
        try:
            wait_http(f"{self.url}/healthz", timeout_s, self.proc)
        except RuntimeError:
            self.stop()
            raise RuntimeError(
                f"{self.name} did not start: {self.log.read_text()[-2000:]}"
            ) from None
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def lumbung_server(module: str, env: Mapping[str, str], log: Path) -> Server:
    return Server([PY, "-m", module], env, log, module)


def bare_server(log: Path) -> Server:
    args = [PY, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port", "{port}",
            "--log-level", "warning", "--no-server-header"]  # fmt: skip
    return Server(args, {}, log, "bare FastAPI")


def token(secret: str, hours: int = 12) -> str:
    from shared.auth import Role, mint_token
    from shared.demo.model import DEMO_SUB, DISTRICT_CODE

    return mint_token(
        secret, role=Role.DISTRICT_ADMIN, sub=DEMO_SUB, district=DISTRICT_CODE,
        ttl=timedelta(hours=hours),
    )  # fmt: skip


def run_json(args: Sequence[str], *, timeout_s: float, env: Mapping[str, str] | None = None) -> Any:
    """Run a helper process that prints one JSON document on its last stdout line."""
    done = subprocess.run(
        list(args), cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{args[:4]} failed ({done.returncode}): {done.stderr[-3000:]}")
    if done.stderr:
        sys.stderr.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a live process (from /proc)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return float("nan")


def machine() -> dict[str, str]:
    """Cores, memory and versions, for the header of RESULTS.md."""
    from importlib.metadata import version

    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    java = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20)
        java = (out.stderr or out.stdout).splitlines()[0]
    ferret = "?"
    binary = Path(os.environ.get("LUMBUNG_CACHE", ROOT / ".cache")) / "bin" / "ferretdb"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20)
        ferret = next((ln for ln in out.stdout.splitlines() if "version" in ln.lower()), "?")
    load = ""
    with contextlib.suppress(OSError):
        load = " ".join(os.getloadavg().__repr__().strip("()").split(", "))
    return {
        "cpu": f"{os.cpu_count()} cores ({model})",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "kafka": "Apache Kafka 4.3.1 (single-node KRaft, deploy/local/kafka.sh)",
        "ferretdb": f"FerretDB {ferret.strip()} (--handler=sqlite)",
        "java": java,
        "sqlite": __import__("sqlite3").sqlite_version,
        "packages": ", ".join(
            f"{p} {version(p)}"
            for p in ("fastapi", "starlette", "uvicorn", "pydantic", "kafka-python", "pymongo")
        ),
        "load average at start": load,
    }


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    say(f"{label}: {time.perf_counter() - started:.1f}s")
