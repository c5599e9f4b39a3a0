"""Prometheus's own checker accepts the config, the alert rules and every dashboard query, and
the alert rules fire (and stay quiet) as their unit tests say.

promtool comes from deploy/prometheus/install-promtool.sh (Go module proxy, or Debian's
package), cached in .cache/bin: `make test` installs it before pytest runs.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.deploy import deployfiles as df

INSTALL_TIMEOUT_S = 1800


@pytest.fixture(scope="module")
def promtool() -> Path:
    started = time.monotonic()
    out = subprocess.run(
        ["bash", str(df.INSTALL_PROMTOOL), "--print-path"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        cwd=df.ROOT,
    )
    if out.returncode != 0:
        pytest.fail(f"install-promtool.sh failed:\n{out.stderr[-3000:]}")
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.is_file() and os.access(path, os.X_OK), path
    elapsed = time.monotonic() - started
    if elapsed > 5:
        print(f"installed promtool in {elapsed:.0f}s")
    return path


def run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *args], capture_output=True, text=True, timeout=300, cwd=df.ROOT
    )


def test_install_is_idempotent_and_fast_the_second_time(promtool: Path) -> None:
    started = time.monotonic()
    out = subprocess.run(
        ["bash", str(df.INSTALL_PROMTOOL), "--print-path"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=df.ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == promtool
    assert time.monotonic() - started < 10
    version = run(promtool, "--version")
    assert version.returncode == 0 and "promtool" in (version.stdout + version.stderr)


def test_promtool_check_config(promtool: Path) -> None:
    out = run(promtool, "check", "config", str(df.PROMETHEUS_CONFIG))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_promtool_check_rules(promtool: Path) -> None:
    out = run(promtool, "check", "rules", str(df.ALERT_RULES))
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_test_rules(promtool: Path) -> None:
    """alerts_test.yml: each alert fires on the series it is for and not on healthy ones."""
    out = run(promtool, "test", "rules", str(df.ALERT_TESTS))
    assert out.returncode == 0, out.stdout + out.stderr
    tested = {
        case["alertname"]
        for test in df.load_yaml(df.ALERT_TESTS)["tests"]
        for case in test.get("alert_rule_test", [])
    }
    alerts = {r["alert"] for _, r in _rules()}
    assert alerts <= tested, f"alerts without a unit test: {sorted(alerts - tested)}"


def test_every_dashboard_query_is_valid_promql(promtool: Path, tmp_path: Path) -> None:
    """Each panel query (Grafana's variables filled in) as a recording rule for promtool."""
    queries = list(df.dashboard_queries(df.dashboard()))
    assert queries
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": df.grafana_to_promql(expr)}
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    out = run(promtool, "check", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(queries)} rules found" in out.stdout


def test_a_broken_rule_is_caught(promtool: Path, tmp_path: Path) -> None:
    """The checks above can fail: promtool rejects bad PromQL."""
    path = tmp_path / "bad.yml"
    path.write_text("groups:\n  - name: x\n    rules:\n      - record: a:b\n        expr: sum(by\n")
    assert run(promtool, "check", "rules", str(path)).returncode != 0


def _rules() -> list[tuple[str, dict]]:
    return [(g["name"], r) for g in df.load_yaml(df.ALERT_RULES)["groups"] for r in g["rules"]]
