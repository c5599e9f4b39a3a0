"""docker-compose.yml through the loader `docker compose` itself uses (compose-go): the Compose
Specification schema, interpolation, anchors and merges, and cross-references. With the docker
compose plugin present, `docker compose config` runs too; without an engine it still validates.

compose-check is deploy/compose-check (a few lines of Go over compose-go, built from the Go
module proxy into .cache/bin by deploy/compose-check/install.sh).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.catalog import SERVICES
from tests.deploy import deployfiles as df
from tests.deploy.test_deploy_files import SECRET_VARS

INSTALL = df.DEPLOY / "compose-check" / "install.sh"


@pytest.fixture(scope="module")
def compose_check() -> Path:
    out = subprocess.run(
        ["bash", str(INSTALL), "--print-path"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=df.ROOT,
    )
    if out.returncode != 0:
        pytest.fail(f"deploy/compose-check/install.sh failed:\n{out.stderr[-3000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


def env_file(tmp_path: Path, **overrides: str) -> Path:
    values = {**df.env_example(), **{v: "x" * 64 for v in SECRET_VARS}, **overrides}
    path = tmp_path / "env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def check(
    tool: Path, env: Path, compose: Path = df.COMPOSE_FILE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool), "-env-file", str(env), str(compose)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_is_valid_and_resolves(compose_check: Path, tmp_path: Path) -> None:
    out = check(compose_check, env_file(tmp_path))
    assert out.returncode == 0, out.stderr
    project = yaml.safe_load(out.stdout)
    services = project["services"]
    assert set(SERVICES) <= services.keys()
    for name in SERVICES:
        svc = services[name]
        assert svc["environment"]["LUMBUNG_SERVICE"] == name
        assert svc["environment"]["LUMBUNG_SECRET"] == "x" * 64
        assert svc["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
        assert svc["image"] == "lumbung:local"
        assert all(p["host_ip"] == "127.0.0.1" for p in svc["ports"])
    assert services["kafka"]["environment"]["KAFKA_HEAP_OPTS"] == "-Xms1g -Xmx1g"
    assert set(project["volumes"]) >= {"kafka-data", "mongo-data"}


def test_compose_refuses_to_start_without_secrets(compose_check: Path, tmp_path: Path) -> None:
    out = check(compose_check, df.ENV_EXAMPLE)
    assert out.returncode != 0
    for var in SECRET_VARS:
        assert f"required variable {var} is missing a value: set it in .env" in out.stderr
    for missing in SECRET_VARS:
        out = check(compose_check, env_file(tmp_path, **{missing: ""}))
        assert out.returncode != 0 and missing in out.stderr, missing


def test_compose_check_rejects_an_invalid_file(compose_check: Path, tmp_path: Path) -> None:
    """The check can fail: a misspelt depends_on condition is not in the Compose schema."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(df.COMPOSE_FILE.read_text().replace("service_healthy", "service_healty", 1))
    out = check(compose_check, env_file(tmp_path), broken)
    assert out.returncode != 0 and "depends_on.mongo.condition value must be one of" in out.stderr


def _docker_compose_works() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_compose_works(), reason="the docker compose plugin is missing")
def test_docker_compose_config_validates(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            "docker",
            "compose",
            "--env-file",
            str(env_file(tmp_path)),
            "-f",
            str(df.COMPOSE_FILE),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=df.ROOT,
    )
    assert out.returncode == 0, out.stderr
