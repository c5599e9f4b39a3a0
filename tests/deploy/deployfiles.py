"""Loaders for the deployment files and the names the code really exports, for tests/deploy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERT_RULES = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "lumbung.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "lumbung.yml"
K8S = DEPLOY / "k8s"
KAFKA = DEPLOY / "kafka"
CREATE_TOPICS = KAFKA / "create-topics.sh"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
RUN_DISTRIBUTED = DEPLOY / "run-distributed.sh"
INSTALL_PROMTOOL = DEPLOY / "prometheus" / "install-promtool.sh"

# Labels Prometheus attaches to every scraped series (prometheus.yml's job and target labels).
TARGET_LABELS = frozenset({"job", "instance", "component"})
# Labels a histogram's series carry beyond the metric's own.
HISTOGRAM_LABELS = frozenset({"le"})

# A metric name in PromQL: an identifier that starts with lumbung_ (label values such as
# "lumbung.registry.v1" have a dot after the prefix and do not match).
METRIC_NAME = re.compile(r"(?<![A-Za-z0-9_:.])lumbung_[A-Za-z0-9_:]*")


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_all(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def k8s_manifest_files() -> list[Path]:
    """Every manifest `kubectl apply -k deploy/k8s` takes in (kustomization files excluded)."""
    files = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    return [*files, KAFKA / "topics-job.yaml"]


def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in k8s_manifest_files() for doc in load_yaml_all(path)]


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f".env.example line without '=': {line!r}"
        values[key.strip()] = value.strip()
    return values


def create_topics_names() -> list[str]:
    """The topic names create-topics.sh makes (its TOPICS table)."""
    text = CREATE_TOPICS.read_text(encoding="utf-8")
    table = re.search(r'^TOPICS="\n(.*?)^"', text, re.S | re.M)
    assert table, "create-topics.sh has no TOPICS table"
    return [line.split()[0] for line in table.group(1).splitlines() if line.strip()]


# -- the code's metrics ---------------------------------------------------------------------

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "unknown": ("",),
}


@cache
def exported_metrics() -> dict[str, frozenset[str]]:
    """Every lumbung_* series name the code exports, with the label names it carries.

    Read from prometheus_client's default registry after importing shared.observability (and
    the service catalogue, so a metric defined next to a service counts too): each family's
    name, the sample names of its type (_total, _bucket, _sum, _count, ...) and any sample it
    already has. Renaming a metric in the code changes this set.
    """
    import prometheus_client
    from prometheus_client.metrics import MetricWrapperBase

    import services.catalog  # noqa: F401  (imports every service module)
    import shared.observability

    labels_by_family: dict[str, frozenset[str]] = {}
    for module in (shared.observability,):
        for obj in vars(module).values():
            if isinstance(obj, MetricWrapperBase):
                # _name and _labelnames: prometheus_client has no public accessor for the
                # label names of a metric that has no child yet.
                labels_by_family[obj._name] = frozenset(obj._labelnames)

    names: dict[str, frozenset[str]] = {}
    for family in prometheus_client.REGISTRY.collect():
        if not family.name.startswith("lumbung_"):
            continue
        labels = labels_by_family.get(family.name, frozenset())
        for suffix in _SUFFIXES.get(family.type, ("",)):
            extra = HISTOGRAM_LABELS if suffix == "_bucket" else frozenset()
            names[family.name + suffix] = labels | extra
        for sample in family.samples:
            names.setdefault(sample.name, frozenset(sample.labels))
    return names


# -- PromQL ---------------------------------------------------------------------------------


def metric_names_in(expr: str) -> set[str]:
    return set(METRIC_NAME.findall(_strip_strings(expr)))


def _strip_strings(expr: str) -> str:
    """Blank out string literals (label values, regexes), keeping offsets."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', lambda m: " " * len(m.group()), expr)


_SELECTOR = re.compile(r"(lumbung_[A-Za-z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_LABEL_REPLACE_DST = re.compile(r'label_replace\s*\(.*?,\s*"([A-Za-z_][A-Za-z0-9_]*)"', re.S)


def selector_labels(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names matched in its {...} selector) for each selector in expr."""
    found = []
    for match in _SELECTOR.finditer(expr):
        body = _strip_strings(match.group(2))
        found.append((match.group(1), set(_MATCHER_LABEL.findall(body))))
    return found


def grouping_labels(expr: str) -> set[str]:
    """Labels named in by/without/on/ignoring/group_* clauses."""
    labels: set[str] = set()
    for match in _GROUPING.finditer(_strip_strings(expr)):
        labels |= {part.strip() for part in match.group(1).split(",") if part.strip()}
    return labels


def label_replace_targets(expr: str) -> set[str]:
    return set(_LABEL_REPLACE_DST.findall(expr))


def dashboard_queries(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable of the dashboard."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(board.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield f"panel {panel.get('title')!r} {target.get('refId')}", target["expr"]
    for var in board.get("templating", {}).get("list", []):
        query = var.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if var.get("type") == "query" and text:
            yield f"variable {var['name']!r}", text


def alert_queries(rules: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield f"rule {rule.get('alert') or rule.get('record')!r}", rule["expr"]


def grafana_to_promql(expr: str) -> str:
    """A dashboard query with Grafana's variables filled in, so promtool can parse it."""
    expr = re.sub(r"label_values\(\s*([^,()]+?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", r"\1", expr)
    for var, value in (
        ("$__rate_interval", "1m"),
        ("$__interval", "1m"),
        ("$__range", "1h"),
    ):
        expr = expr.replace(var, value)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)
