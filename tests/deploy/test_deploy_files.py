"""The deployment files agree with the code: every service has a container, a scrape target and
probes; every metric the dashboard and the alerts query is one the code exports; no secret has a
usable default. Parses docker-compose.yml, the Prometheus config and rules, the Grafana
dashboard and provisioning, the Kubernetes manifests and the Dockerfile (no Docker engine
needed)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from typing import Any

import pytest

from services.catalog import SERVICES
from shared.events.catalogue import SERVICES as PRODUCERS
from shared.events.envelope import DEADLETTER_TOPIC, topic_for
from tests.deploy import deployfiles as df

# TODO(metrics): metrics the dashboard or the alerts may query before the code exports them,
# with the labels they will carry. Keep it empty: add a name only while its metric is being
# written, and remove it as soon as shared/observability.py exports it (the test
# `test_metrics_to_be_added_are_not_exported_yet` fails to remind you).
TO_BE_ADDED: dict[str, frozenset[str]] = {}

SECRET_VARS = (
    "LUMBUNG_SECRET",
    "LUMBUNG_PII_KEY",
    "LUMBUNG_MONGO_PASSWORD",
    "MONGO_ROOT_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)
SERVICE_PORT = 8000


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return df.compose()


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    return df.load_yaml(df.PROMETHEUS_CONFIG)


@pytest.fixture(scope="module")
def rules() -> dict[str, Any]:
    return df.load_yaml(df.ALERT_RULES)


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    return df.dashboard()


@pytest.fixture(scope="module")
def k8s() -> list[dict[str, Any]]:
    return df.k8s_objects()


def _known_metrics() -> dict[str, frozenset[str]]:
    return {**df.exported_metrics(), **TO_BE_ADDED}


def _all_queries(board: dict[str, Any], rules: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        *((f"dashboard {w}", q) for w, q in df.dashboard_queries(board)),
        *((f"alerts {w}", q) for w, q in df.alert_queries(rules)),
    ]


# -- metrics --------------------------------------------------------------------------------


def test_the_code_exports_the_metrics_the_issue_names() -> None:
    exported = df.exported_metrics()
    for name in (
        "lumbung_http_requests_total",
        "lumbung_http_request_duration_seconds_bucket",
        "lumbung_events_published_total",
        "lumbung_events_consumed_total",
        "lumbung_consumer_lag",
        "lumbung_outbox_backlog",
        "lumbung_deadletters_total",
    ):
        assert name in exported


def test_every_metric_the_dashboard_and_alerts_query_is_exported(
    board: dict[str, Any], rules: dict[str, Any]
) -> None:
    known = _known_metrics()
    unknown = {
        f"{where}: {name}"
        for where, expr in _all_queries(board, rules)
        for name in df.metric_names_in(expr)
        if name not in known
    }
    assert not unknown, "queries name metrics the code does not export:\n" + "\n".join(
        sorted(unknown)
    )


def test_every_label_the_queries_use_exists_on_their_metrics(
    board: dict[str, Any], rules: dict[str, Any]
) -> None:
    known = _known_metrics()
    problems = []
    for where, expr in _all_queries(board, rules):
        names = df.metric_names_in(expr) & known.keys()
        if not names:
            continue
        for metric, labels in df.selector_labels(expr):
            extra = labels - known.get(metric, frozenset()) - df.TARGET_LABELS
            if extra:
                problems.append(f"{where}: {metric} has no label(s) {sorted(extra)}")
        available = set().union(*(known[n] for n in names)) | df.TARGET_LABELS
        available |= df.label_replace_targets(expr)
        missing = df.grouping_labels(expr) - available
        if missing:
            problems.append(f"{where}: groups by unknown label(s) {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_metrics_to_be_added_are_not_exported_yet() -> None:
    exported = df.exported_metrics()
    done = sorted(name for name in TO_BE_ADDED if name in exported)
    assert not done, f"remove {done} from TO_BE_ADDED: the code exports them now"


def test_the_metric_name_extraction_sees_names_and_ignores_label_values() -> None:
    expr = (
        'sum by (topic) (label_replace(rate(lumbung_events_consumed_total{type=~"lumbung_x.*"}'
        '[5m]), "topic", "lumbung.$1.v1", "type", "lumbung\\\\.([a-z]+)\\\\..*"))'
        " / on() group_left lumbung_outbox_backlog"
    )
    assert df.metric_names_in(expr) == {"lumbung_events_consumed_total", "lumbung_outbox_backlog"}
    assert df.grouping_labels(expr) == {"topic"}
    assert df.label_replace_targets(expr) == {"topic"}


# -- docker compose -------------------------------------------------------------------------


def test_every_service_has_a_container_that_runs_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = set()
    for name in SERVICES:
        assert name in services, f"docker-compose.yml has no container for {name}"
        svc = services[name]
        env = svc["environment"]
        assert env["LUMBUNG_SERVICE"] == name
        assert env["LUMBUNG_MODE"] == "distributed"
        assert str(env["LUMBUNG_PORT"]) == str(SERVICE_PORT)
        assert env["LUMBUNG_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["LUMBUNG_MONGO_URL"].startswith("mongodb://")
        assert "@mongo:27017/" in env["LUMBUNG_MONGO_URL"]
        assert svc["build"]["dockerfile"] == "Dockerfile"
        images.add(svc["image"])
    assert len(images) == 1, f"one image for every service, not {images}"


def test_every_service_container_has_a_readiness_healthcheck_and_waits_for_its_stores(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in SERVICES:
        svc = services[name]
        test = " ".join(svc["healthcheck"]["test"])
        assert f"127.0.0.1:{SERVICE_PORT}/readyz" in test, name
        deps = svc["depends_on"]
        assert deps["mongo"]["condition"] == "service_healthy"
        assert deps["kafka"]["condition"] == "service_healthy"
        assert deps["kafka-init"]["condition"] == "service_completed_successfully"
    for infra in ("kafka", "mongo", "prometheus", "grafana"):
        assert services[infra]["healthcheck"]["test"], infra


def test_kafka_is_4x_in_kraft_mode_and_mongo_is_7(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"])
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert not any("ZOOKEEPER" in key for key in env)
    assert re.fullmatch(r"mongo:7(\.\d+)*", compose["services"]["mongo"]["image"])
    assert compose["services"]["prometheus"]["image"].startswith("prom/prometheus:v3.")
    assert compose["services"]["grafana"]["image"].startswith("grafana/grafana")


def test_topics_are_created_by_a_one_shot_init_container(compose: dict[str, Any]) -> None:
    init = compose["services"]["kafka-init"]
    assert init["image"] == compose["services"]["kafka"]["image"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert init["restart"] == "no"
    assert init["entrypoint"][-1] == "/lumbung/create-topics.sh"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in init["volumes"]}
    assert mounts["/lumbung/create-topics.sh"] == "./deploy/kafka/create-topics.sh"
    assert "LUMBUNG_KAFKA_PARTITIONS" in init["environment"]
    # Same partition count for the broker's default, the init container and the services.
    partitions = init["environment"]["LUMBUNG_KAFKA_PARTITIONS"]
    assert compose["services"]["kafka"]["environment"]["KAFKA_NUM_PARTITIONS"] == partitions
    for name in SERVICES:
        assert compose["services"][name]["environment"]["LUMBUNG_KAFKA_PARTITIONS"] == partitions


def test_create_topics_makes_exactly_the_topics_the_code_uses() -> None:
    expected = [topic_for(s) for s in PRODUCERS] + [DEADLETTER_TOPIC]
    assert sorted(df.create_topics_names()) == sorted(expected)
    from services.aggregator.service import TOPICS

    assert set(TOPICS) | {DEADLETTER_TOPIC} == set(expected)
    text = df.CREATE_TOPICS.read_text()
    assert "--partitions" in text and "retention.ms" in text


def test_bind_mounts_point_at_files_in_the_repository(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (df.ROOT / source).exists(), f"{name}: {source} does not exist"


def test_published_ports_are_distinct_and_bound_to_the_configured_address(
    compose: dict[str, Any],
) -> None:
    seen: dict[str, str] = {}
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            bind, host, _container = str(port).rsplit(":", 2)
            assert bind == "${LUMBUNG_BIND:-127.0.0.1}", f"{name} publishes {port} on all addresses"
            assert host not in seen, f"{name} and {seen.get(host)} both publish {host}"
            seen[host] = name


# -- secrets --------------------------------------------------------------------------------


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err} and $$."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise ValueError(f"{name}: {arg}")
            return value
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        return value or ""

    pattern = r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:\?|\?|:-|-)(?P<arg>[^}]*))?\}"
    return re.sub(pattern, one, text)


def test_secrets_have_no_default_and_compose_refuses_to_start_without_them() -> None:
    text = df.COMPOSE_FILE.read_text()
    for var in SECRET_VARS:
        uses = re.findall(r"\$\{" + var + r"([^}]*)\}", text)
        assert uses, f"{var} is not used by docker-compose.yml"
        assert all(use.startswith(":?") for use in uses), f"{var} must be ${{{var}:?...}}"
    # With the example's values (every secret empty) nothing interpolates.
    example = df.env_example()
    with pytest.raises(ValueError, match=r"set it in \.env"):
        _interpolate(text, example)
    for missing in SECRET_VARS:
        filled = {**example, **{v: "x" * 64 for v in SECRET_VARS if v != missing}}
        with pytest.raises(ValueError, match=missing):
            _interpolate(text, filled)
    resolved = _interpolate(text, {**example, **{v: "x" * 64 for v in SECRET_VARS}})
    assert "x" * 64 in resolved


def test_env_example_lists_every_variable_and_holds_no_secret() -> None:
    example = df.env_example()
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", df.COMPOSE_FILE.read_text()))
    assert used <= example.keys(), f".env.example lacks {sorted(used - example.keys())}"
    assert example.keys() <= used, f".env.example has unused {sorted(example.keys() - used)}"
    for var in SECRET_VARS:
        assert example[var] == "", f"{var} must be empty in .env.example"


def test_no_literal_secret_in_any_container_environment(compose: dict[str, Any]) -> None:
    secretish = re.compile(r"SECRET|PASSWORD|PII_KEY|TOKEN", re.I)
    text_env = df.COMPOSE_FILE.read_text()
    for name, svc in compose["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if secretish.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), f"{name}.{key}={value}"
    assert "${LUMBUNG_MONGO_PASSWORD:?" in text_env


# -- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_and_starts_the_entrypoint() -> None:
    text = (df.ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.M | re.I)
    assert len(stages) >= 2, "multi-stage build"
    final = text[text.rfind("\nFROM ") :]
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    uid = re.search(r"^ARG LUMBUNG_UID=(\d+)", final, re.M)
    if user == "${LUMBUNG_UID}":
        assert uid and int(uid.group(1)) >= 1000, "a non-root uid"
    else:
        assert user not in ("root", "0"), "runs as a non-root user"
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in final
    assert "LUMBUNG_MODE=distributed" in final and "LUMBUNG_HOST=0.0.0.0" in final
    assert "COPY --from=build /opt/venv /opt/venv" in final


def test_dockerignore_admits_what_the_dockerfile_copies() -> None:
    text = (df.ROOT / "Dockerfile").read_text()
    ignore = [
        line.strip()
        for line in (df.ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "**", "deny everything first (.env, .git, .venv, data stay out)"
    admitted = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for line in re.findall(r"^COPY\s+(?!--from)(.+)$", text, re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert source.rstrip("/") in admitted, f"COPY {source} but .dockerignore excludes it"
            assert (df.ROOT / source).exists()
    assert os.access(df.ENTRYPOINT, os.X_OK)
    assert df.ENTRYPOINT.stat().st_mode & stat.S_IXOTH, "the image's user must execute it"


def test_the_image_requirements_are_the_pinned_dependencies() -> None:
    """The build stage installs pyproject.toml's == pins (the same command, run here)."""
    dockerfile = (df.ROOT / "Dockerfile").read_text()
    command = re.search(r'RUN (python -c "import tomllib.*?")\s*\\', dockerfile)
    assert command
    code = command.group(1)[len('python -c "') : -1].replace("\\\\n", "\\n")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=df.ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.]+", r) for r in out), out


# -- Prometheus -----------------------------------------------------------------------------


def test_prometheus_scrapes_every_service(prometheus: dict[str, Any]) -> None:
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    job = jobs["lumbung"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {group["labels"]["component"]: group["targets"] for group in job["static_configs"]}
    assert set(targets) == set(SERVICES)
    for name, addrs in targets.items():
        assert addrs == [f"{name}:{SERVICE_PORT}"]
    assert prometheus["rule_files"] == ["alerts.yml"]
    assert df.ALERT_RULES.exists()


def test_the_target_label_does_not_clash_with_the_metrics_service_label(
    prometheus: dict[str, Any],
) -> None:
    labels = {
        key
        for job in prometheus["scrape_configs"]
        for group in job.get("static_configs", [])
        for key in group.get("labels", {})
    }
    metric_labels = set().union(*df.exported_metrics().values())
    assert not labels & metric_labels, "a target label would rename a metric label"


def test_the_alerts_the_issue_asks_for_exist(rules: dict[str, Any]) -> None:
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    wanted = {
        "LumbungServiceDown": "up",
        "LumbungConsumerLagGrowing": "lumbung_consumer_lag",
        "LumbungOutboxNotDraining": "lumbung_outbox_backlog",
        "LumbungDeadLetters": "lumbung_deadletters_total",
    }
    for alert, metric in wanted.items():
        assert alert in alerts
        assert re.search(r"\b" + metric + r"\b", alerts[alert]["expr"])
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
    assert 'job="lumbung"' in alerts["LumbungServiceDown"]["expr"]


# -- Grafana --------------------------------------------------------------------------------


def test_dashboard_shows_what_the_issue_asks_for(board: dict[str, Any]) -> None:
    queries = [q for _, q in df.dashboard_queries(board)]
    used = set().union(*(df.metric_names_in(q) for q in queries))
    for metric in (
        "lumbung_http_requests_total",
        "lumbung_http_request_duration_seconds_bucket",
        "lumbung_events_published_total",
        "lumbung_events_consumed_total",
        "lumbung_consumer_lag",
        "lumbung_outbox_backlog",
        "lumbung_deadletters_total",
        "lumbung_district_index_mean",
    ):
        assert metric in used, f"the dashboard has no panel on {metric}"
    assert any("by (topic)" in q and "lumbung_events_published_total" in q for q in queries)
    assert any("by (topic)" in q and "lumbung_events_consumed_total" in q for q in queries)
    assert any("by (service" in q and "lumbung_http_requests_total" in q for q in queries)
    assert any("by (district)" in q and "lumbung_district_index_mean" in q for q in queries)


def test_dashboard_is_well_formed_and_uses_the_provisioned_datasource(
    board: dict[str, Any], compose: dict[str, Any]
) -> None:
    sources = df.load_yaml(df.DATASOURCES)["datasources"]
    assert len(sources) == 1
    uid = sources[0]["uid"]
    assert sources[0]["type"] == "prometheus"
    assert sources[0]["url"] == "http://prometheus:9090"
    ids = []
    for panel in board["panels"]:
        ids.append(panel["id"])
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == uid, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid
    assert len(ids) == len(set(ids)), "panel ids are unique"
    assert board["uid"] and board["title"]
    # The provider loads the folder compose mounts, and the home dashboard is in it.
    provider = df.load_yaml(df.DASHBOARD_PROVIDERS)["providers"][0]
    grafana = compose["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{df.DASHBOARD.name}"


# -- Kubernetes -----------------------------------------------------------------------------


def _by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def test_k8s_objects_are_well_formed(k8s: list[dict[str, Any]]) -> None:
    assert k8s
    for obj in k8s:
        assert obj.get("apiVersion") and obj.get("kind"), obj
        assert obj["metadata"]["name"]
    assert not _by_kind(k8s, "Secret"), "secrets are created by hand, never committed"


def test_kustomization_lists_every_manifest() -> None:
    kustomization = df.load_yaml(df.K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in df.K8S.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert on_disk | {"../kafka"} == listed
    kafka = df.load_yaml(df.KAFKA / "kustomization.yaml")
    assert kafka["resources"] == ["topics-job.yaml"]
    assert kafka["configMapGenerator"][0]["files"] == ["create-topics.sh"]


def test_every_service_has_a_deployment_a_service_probes_and_resources(
    k8s: list[dict[str, Any]],
) -> None:
    deployments, services = _by_kind(k8s, "Deployment"), _by_kind(k8s, "Service")
    config = _by_kind(k8s, "ConfigMap")["lumbung-config"]["data"]
    assert set(deployments) == {*SERVICES, "agriculture-feed"}
    for name in SERVICES:
        spec = deployments[name]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert services[name]["spec"]["selector"].items() <= labels.items()
        pod = spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["LUMBUNG_SERVICE"]["value"] == name
        for key in ("LUMBUNG_SECRET", "LUMBUNG_PII_KEY", "LUMBUNG_MONGO_URL"):
            ref = env[key]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "lumbung-secrets", "key": key}
        assert container["envFrom"] == [{"configMapRef": {"name": "lumbung-config"}}]
        port = container["ports"][0]
        assert port["containerPort"] == int(config["LUMBUNG_PORT"]) == SERVICE_PORT
        probes = {
            kind: container[kind]["httpGet"]
            for kind in ("readinessProbe", "livenessProbe", "startupProbe")
        }
        assert probes["readinessProbe"]["path"] == "/readyz"
        assert probes["livenessProbe"]["path"] == "/healthz"
        for probe in probes.values():
            assert probe["port"] in (port["name"], port["containerPort"])
        requests = container["resources"]["requests"]
        assert requests["cpu"] and requests["memory"]
        assert container["resources"]["limits"]["memory"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        annotations = spec["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == str(SERVICE_PORT)
        assert services[name]["spec"]["ports"][0]["port"] == SERVICE_PORT


def test_the_feed_builder_and_webhook_dispatcher_run_in_one_pod_only(
    k8s: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    deployments, services = _by_kind(k8s, "Deployment"), _by_kind(k8s, "Service")

    def builder(name: str) -> str:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e.get("value") for e in container["env"]}["LUMBUNG_FEED_BUILDER"]

    assert builder("agriculture") == "false"  # the scaled API replicas
    singleton = deployments["agriculture-feed"]["spec"]
    assert builder("agriculture-feed") == "true"
    assert singleton["replicas"] == 1 and singleton["strategy"]["type"] == "Recreate"
    labels = singleton["template"]["metadata"]["labels"]
    assert not any(svc["spec"]["selector"].items() <= labels.items() for svc in services.values())
    assert "LUMBUNG_FEED_BUILDER" not in _by_kind(k8s, "ConfigMap")["lumbung-config"]["data"]
    assert str(compose["services"]["agriculture"]["environment"]["LUMBUNG_FEED_BUILDER"]) in (
        "true",
        "True",
    )


def test_the_aggregator_is_one_replica_never_two_at_once(k8s: list[dict[str, Any]]) -> None:
    """District months are patched by read-modify-write: two aggregators would race."""
    config = _by_kind(k8s, "ConfigMap")["lumbung-config"]["data"]
    aggregator = _by_kind(k8s, "Deployment")["aggregator"]
    assert aggregator["spec"]["replicas"] == 1
    assert aggregator["spec"]["strategy"]["type"] == "Recreate"
    assert config["LUMBUNG_CONSUMER_GROUP"] == "lumbung-aggregator"
    assert config["LUMBUNG_MODE"] == "distributed"


def test_topics_job_uses_the_same_script_and_settings(k8s: list[dict[str, Any]]) -> None:
    job = _by_kind(k8s, "Job")["lumbung-kafka-topics"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["/bin/bash", "/lumbung/create-topics.sh"]
    env = {e["name"]: e["valueFrom"]["configMapKeyRef"] for e in container["env"]}
    assert env["LUMBUNG_KAFKA_PARTITIONS"] == {
        "name": "lumbung-config",
        "key": "LUMBUNG_KAFKA_PARTITIONS",
    }
    assert pod["volumes"][0]["configMap"]["name"] == "lumbung-kafka-topics"
    assert container["resources"]["requests"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", container["image"])


def test_replay_job_runs_the_cli_with_the_aggregators_settings(k8s: list[dict[str, Any]]) -> None:
    (job,) = df.load_yaml_all(df.K8S / "replay" / "job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["lumbung", "replay"]
    aggregator = _by_kind(k8s, "Deployment")["aggregator"]["spec"]["template"]["spec"]
    (agg,) = aggregator["containers"]
    assert container["envFrom"] == agg["envFrom"]
    assert container["env"] == agg["env"], "same service label (database) and secrets"
    main = df.load_yaml(df.K8S / "kustomization.yaml")
    replay = df.load_yaml(df.K8S / "replay" / "kustomization.yaml")
    assert replay["images"] == main["images"] and replay["namespace"] == main["namespace"]


def test_ingress_routes_every_service_prefix(k8s: list[dict[str, Any]]) -> None:
    ingress = _by_kind(k8s, "Ingress")["lumbung"]
    routes = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    for name in SERVICES:
        prefix = "/resilience" if name == "aggregator" else f"/{name}"
        assert routes[prefix] == name
    from fastapi import FastAPI

    from shared.http import route_table

    for name, spec in SERVICES.items():
        app = FastAPI()
        app.include_router(spec.router)
        paths = {path for _method, path in route_table(app)}
        prefix = "/resilience" if name == "aggregator" else f"/{name}"
        assert any(p.startswith(prefix + "/") for p in paths), f"{name} serves nothing at {prefix}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_manifests() -> None:
    import yaml

    out = subprocess.run(
        ["kubectl", "kustomize", str(df.K8S)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    objs = [o for o in yaml.safe_load_all(out.stdout) if o]
    assert all(
        o["metadata"].get("namespace") == "lumbung" for o in objs if o["kind"] != "Namespace"
    )
    maps = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    job = next(o for o in objs if o["kind"] == "Job")
    generated = job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    assert generated.startswith("lumbung-kafka-topics-") and generated in maps
    assert maps[generated]["data"]["create-topics.sh"] == df.CREATE_TOPICS.read_text()
    images = {
        c["image"]
        for o in objs
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert len(images) == 1 and "lumbung" in next(iter(images))
