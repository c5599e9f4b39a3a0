"""deploy/kafka/create-topics.sh (the compose init container and the k8s Job) on the real Kafka.

The apache/kafka image runs it with its own kafka-topics.sh and kafka-configs.sh; here the same
tools run from the broker's jars (deploy/local/kafka.sh) plus kafka-tools from Maven Central.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.events.envelope import DEADLETTER_TOPIC
from tests.deploy import deployfiles as df

LOCAL_KAFKA = df.DEPLOY / "local" / "kafka.sh"
PARTITIONS = 3  # what the integration tests' services use on the same broker


def kafka_version() -> str:
    found = re.search(r"^KAFKA_VERSION=(\S+)$", LOCAL_KAFKA.read_text(), re.M)
    assert found
    return found.group(1)


def cache_dir() -> Path:
    return Path(os.environ.get("LUMBUNG_CACHE", df.ROOT / ".cache"))


@pytest.fixture(scope="module")
def kafka_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kafka-topics.sh and kafka-configs.sh, as the apache/kafka image has them."""
    version = kafka_version()
    libs = cache_dir() / f"kafka-{version}" / "libs"
    if not (libs / f"kafka_2.13-{version}.jar").exists():
        pytest.skip(f"{libs} is missing: deploy/local/kafka.sh install")
    tools = cache_dir() / f"kafka-tools-{version}"
    jar = tools / f"kafka-tools-{version}.jar"
    if not jar.exists():
        mvn = shutil.which(os.environ.get("MVN", "mvn"))
        if mvn is None:
            pytest.skip("maven is missing")
        out = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-Dstyle.color=never",
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                f"-Dartifact=org.apache.kafka:kafka-tools:{version}",
                f"-DoutputDirectory={tools}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tools.parent,
        )
        assert out.returncode == 0 and jar.exists(), out.stdout[-3000:] + out.stderr[-3000:]
    java = shutil.which("java") or pytest.skip("java is missing")
    bin_dir = tmp_path_factory.mktemp("kafka-bin")
    for script, main in (
        ("kafka-topics.sh", "org.apache.kafka.tools.TopicCommand"),
        ("kafka-configs.sh", "kafka.admin.ConfigCommand"),
    ):
        path = bin_dir / script
        path.write_text(
            "#!/usr/bin/env bash\n"
            f'exec "{java}" -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto '
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn "
            f'-cp "{libs}/*:{jar}" {main} "$@"\n'
        )
        path.chmod(0o755)
    return bin_dir


def create_topics(kafka_bin: Path, bootstrap: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LUMBUNG_")},
        "KAFKA_BIN": str(kafka_bin),
        "LUMBUNG_KAFKA_BOOTSTRAP": bootstrap,
        "LUMBUNG_KAFKA_PARTITIONS": str(PARTITIONS),
        **env,
    }
    return subprocess.run(
        ["bash", str(df.CREATE_TOPICS)], env=full, capture_output=True, text=True, timeout=600
    )


def topics_ready(stderr: str) -> dict[str, dict[str, str]]:
    """The script's closing table: topic -> {PartitionCount, retention.ms, ...}."""
    table = stderr.split("topics ready:", 1)[1]
    found = {}
    for line in table.splitlines():
        fields = dict(part.split(": ", 1) for part in line.strip().split("\t") if ": " in part)
        if "Topic" in fields:
            configs = dict(kv.split("=", 1) for kv in fields.pop("Configs", "").split(",") if kv)
            found[fields["Topic"]] = {**fields, **configs}
    return found


@pytest.mark.kafka
def test_create_topics_sets_partitions_and_retention_and_is_idempotent(
    kafka_bin: Path, kafka_bootstrap: str
) -> None:
    first = create_topics(kafka_bin, kafka_bootstrap)
    assert first.returncode == 0, first.stderr[-3000:]
    topics = topics_ready(first.stderr)
    assert set(df.create_topics_names()) <= topics.keys()
    for name in df.create_topics_names():
        topic = topics[name]
        assert int(topic["PartitionCount"]) >= PARTITIONS, name
        assert topic["cleanup.policy"] == "delete"
        expected = "7776000000" if name == DEADLETTER_TOPIC else "-1"
        assert topic["retention.ms"] == expected, name

    again = create_topics(kafka_bin, kafka_bootstrap)
    assert again.returncode == 0, again.stderr[-3000:]
    assert not re.search(r": (creating|growing|setting)", again.stderr), again.stderr


@pytest.mark.kafka
def test_create_topics_applies_a_changed_retention(kafka_bin: Path, kafka_bootstrap: str) -> None:
    changed = create_topics(kafka_bin, kafka_bootstrap, LUMBUNG_DEADLETTER_RETENTION_MS="86400000")
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert f"{DEADLETTER_TOPIC}: setting retention.ms=86400000" in changed.stderr
    assert topics_ready(changed.stderr)[DEADLETTER_TOPIC]["retention.ms"] == "86400000"
    back = create_topics(kafka_bin, kafka_bootstrap)
    assert back.returncode == 0
    assert topics_ready(back.stderr)[DEADLETTER_TOPIC]["retention.ms"] == "7776000000"


def test_create_topics_validates_its_settings_and_gives_up_on_no_broker(tmp_path: Path) -> None:
    bad = create_topics(tmp_path, "127.0.0.1:1", LUMBUNG_KAFKA_PARTITIONS="0")
    assert bad.returncode != 0 and "PARTITIONS must be a positive integer" in bad.stderr
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text("#!/usr/bin/env bash\nexit 1\n")
    fake.chmod(0o755)
    down = create_topics(tmp_path, "127.0.0.1:1", LUMBUNG_KAFKA_WAIT_S="1")
    assert down.returncode != 0 and "did not answer within 1s" in down.stderr
