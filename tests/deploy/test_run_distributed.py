"""The container entrypoint and deploy/run-distributed.sh, as real processes.

The entrypoint is what the image runs (Dockerfile ENTRYPOINT); run-distributed.sh starts the
six services through that same entrypoint with the same LUMBUNG_* variables as
docker-compose.yml, on the real Kafka and FerretDB that `make test` starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import jwt
import pytest

from services.catalog import SERVICES
from tests.deploy import deployfiles as df
from tests.integration.conftest import SECRET, admin_headers, distributed_env, fresh_village
from tests.servers import free_port, wait_for

# Variables of the caller (make test, a developer's shell) that must not leak into these runs.
_SCRUB = ("LUMBUNG_", "PYTHONPATH")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env["LUMBUNG_PYTHON"] = sys.executable
    env.update(extra)
    return env


def entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(df.ENTRYPOINT), *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- entrypoint -----------------------------------------------------------------------------


def test_entrypoint_knows_exactly_the_services_of_the_catalogue() -> None:
    out = entrypoint()
    assert out.returncode == 2
    assert "no service given" in out.stderr
    listed = out.stderr.split("one of:")[1].split()
    assert sorted(listed) == sorted(SERVICES)


def test_entrypoint_refuses_an_unknown_service() -> None:
    out = entrypoint(LUMBUNG_SERVICE="registy")
    assert out.returncode == 2 and "unknown service 'registy'" in out.stderr
    out = entrypoint("registy")
    assert out.returncode == 2 and "neither a service nor a command" in out.stderr
    out = entrypoint("registry", "extra")
    assert out.returncode == 2 and "unexpected arguments" in out.stderr


def test_entrypoint_runs_the_operator_cli() -> None:
    out = entrypoint(
        "lumbung", "token", "--role", "viewer", "--district", "3204", LUMBUNG_SECRET=SECRET
    )
    assert out.returncode == 0, out.stderr
    claims = jwt.decode(out.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["role"] == "viewer"


def test_entrypoint_runs_other_commands() -> None:
    out = entrypoint("true")
    assert out.returncode == 0, out.stderr


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    """What the Dockerfile puts in /app: the files .dockerignore admits, nothing else."""
    app = tmp_path / "app"
    app.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.sqlite3")
    for name in ("shared", "services"):
        shutil.copytree(df.ROOT / name, app / name, ignore=ignore)
    (app / "deploy").mkdir()
    shutil.copy2(df.ENTRYPOINT, app / "deploy" / "entrypoint.sh")
    return app


def test_the_image_layout_serves_a_service_chosen_by_lumbung_service(
    image_tree: Path, tmp_path: Path
) -> None:
    port = free_port()
    log = (tmp_path / "svc.log").open("wb")
    # As the Dockerfile's runtime stage: PYTHONPATH=/app, the entrypoint from /app/deploy.
    env = clean_env(
        LUMBUNG_SERVICE="registry",
        LUMBUNG_MODE="embedded",
        LUMBUNG_DATA_DIR=str(tmp_path / "data"),
        LUMBUNG_HOST="127.0.0.1",
        LUMBUNG_PORT=str(port),
        LUMBUNG_DEMO="off",
        PYTHONPATH=str(image_tree),
        PYTHONDONTWRITEBYTECODE="1",
    )
    proc = subprocess.Popen(
        [str(image_tree / "deploy" / "entrypoint.sh")],
        env=env,
        cwd="/",
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _ok(f"{url}/healthz", proc), 60, what="the service to answer")
        # exec chain: the entrypoint's pid is now python's, running from the image tree.
        assert Path(f"/proc/{proc.pid}/cwd").resolve() == image_tree.resolve()
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1:3] == [b"-m", b"services.registry"]
        assert httpx.get(f"{url}/readyz", timeout=10).json()["status"] == "ready"
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert 'lumbung_http_requests_total{method="GET",route="/healthz"' in metrics
        assert httpx.get(f"{url}/resilience/districts/3204", timeout=10).status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
    # uvicorn shuts down cleanly, then re-raises SIGTERM (exit status -15).
    assert proc.returncode in (0, -signal.SIGTERM), (tmp_path / "svc.log").read_text()[-2000:]
    assert "Application shutdown complete" in (tmp_path / "svc.log").read_text()


def _ok(url: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"the service exited with {proc.returncode}")
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# -- run-distributed.sh ---------------------------------------------------------------------


def run_distributed(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(df.RUN_DISTRIBUTED), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=df.ROOT,
    )


def test_run_distributed_refuses_to_start_without_its_settings(tmp_path: Path) -> None:
    state = str(tmp_path / "run")
    base = {"LUMBUNG_RUN_STATE": state}
    out = run_distributed("start", env=clean_env(**base))
    assert out.returncode != 0 and "LUMBUNG_KAFKA_BOOTSTRAP" in out.stderr
    base |= {"LUMBUNG_KAFKA_BOOTSTRAP": "127.0.0.1:1", "LUMBUNG_MONGO_URL": "mongodb://x/"}
    out = run_distributed("start", env=clean_env(**base))
    assert out.returncode != 0 and "set LUMBUNG_SECRET" in out.stderr
    base |= {"LUMBUNG_SECRET": "short", "LUMBUNG_PII_KEY": "p" * 40}
    out = run_distributed("start", env=clean_env(**base))
    assert out.returncode != 0 and "LUMBUNG_SECRET is shorter than 32" in out.stderr
    out = run_distributed("start", "nosuch", env=clean_env(**base))
    assert out.returncode != 0 and "unknown service 'nosuch'" in out.stderr
    assert run_distributed("bogus", env=clean_env()).returncode == 2
    assert not list(Path(state).glob("*.pid")) if Path(state).exists() else True


def test_run_distributed_lists_the_catalogue_services() -> None:
    text = df.RUN_DISTRIBUTED.read_text()
    line = next(x for x in text.splitlines() if x.startswith("ALL_SERVICES=("))
    assert line == f"ALL_SERVICES=({' '.join(SERVICES)})"


@pytest.fixture
def distributed(
    kafka_bootstrap: str, mongo_url: str, tmp_path: Path
) -> Iterator[tuple[dict[str, str], Path]]:
    unique = f"rd{time.time_ns() % 10**10}"
    env = clean_env(
        **distributed_env(kafka_bootstrap, mongo_url, unique),
        LUMBUNG_BASE_PORT="auto",
        LUMBUNG_RUN_STATE=str(tmp_path / "run"),
    )
    yield env, tmp_path / "run"
    run_distributed("stop", env=env, timeout=120)


@pytest.mark.kafka
@pytest.mark.mongo
def test_run_distributed_starts_the_six_services_like_the_containers(
    distributed: tuple[dict[str, str], Path],
) -> None:
    env, state = distributed
    out = run_distributed("start", env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    status = run_distributed("status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    urls = {}
    for line in run_distributed("env", env=env).stdout.splitlines():
        key, _, url = line.removeprefix("export LUMBUNG_URL_").partition("=")
        urls[key.lower()] = url
    assert set(urls) == set(SERVICES)

    for name, url in urls.items():
        ready = httpx.get(f"{url}/readyz", timeout=15)
        assert ready.status_code == 200 and ready.json()["status"] == "ready", (name, ready.text)
        assert ready.json()["mode"] == "distributed"
        assert "lumbung_http_requests_total" in httpx.get(f"{url}/metrics", timeout=15).text
        # The same command and environment as the container: entrypoint -> python -m services.X
        pid = int((state / f"{name}.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1:3] == [b"-m", f"services.{name}".encode()]
        environ = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
            if "=" in item
        )
        assert environ["LUMBUNG_SERVICE"] == name
        assert environ["LUMBUNG_MODE"] == "distributed"
        assert environ["LUMBUNG_KAFKA_BOOTSTRAP"] == env["LUMBUNG_KAFKA_BOOTSTRAP"]

    # Facts through the whole path: registry -> outbox -> Kafka -> aggregator.
    village = fresh_village()
    post(urls["registry"], "/registry/villages", VILLAGE | {"village_code": village})
    for _ in range(2):
        post(urls["registry"], "/registry/households", {"village_code": village, "members": 3})

    def households_registered() -> int | None:
        r = httpx.get(
            f"{urls['aggregator']}/resilience/villages/{village}",
            headers=admin_headers(),
            timeout=15,
        )
        return r.json()["households_registered"] if r.status_code == 200 else None

    wait_for(lambda: households_registered() == 2, 90, what="the aggregator's count")

    # Idempotent start; stop ends every process.
    again = run_distributed("start", env=env)
    assert again.returncode == 0 and again.stderr.count("already running") == len(SERVICES)
    pids = [int((state / f"{n}.pid").read_text()) for n in SERVICES]
    assert run_distributed("stop", env=env).returncode == 0
    assert run_distributed("status", env=env).returncode == 1
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


VILLAGE = {"name": "Desa Uji", "district_code": "3204", "district_name": "Kabupaten Uji"}


def post(url: str, path: str, body: dict) -> None:
    r = httpx.post(f"{url}{path}", json=body, headers=admin_headers(), timeout=30)
    assert r.status_code == 201, r.text


def _zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status
