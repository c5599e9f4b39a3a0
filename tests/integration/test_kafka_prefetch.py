"""The aggregator's fetch process: it ends with its parent, and its own end loses nothing.

The bus contract suite runs against this consumer too (the ``kafka-prefetch`` bus)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from shared.adapters.kafka_bus import KafkaBus
from shared.adapters.kafka_prefetch import PrefetchingConsumer
from shared.ports.bus import BusUnavailable, Message, Record
from tests.servers import line_of_killed_script

# Starts a prefetching consumer, prints its fetch process's pid once that has joined the
# group, then dies by SIGKILL (as the chaos test and the OOM killer end an aggregator).
CHILD = """
import os, signal, sys
from shared.adapters.kafka_bus import KafkaBus

if __name__ == "__main__":
    bus = KafkaBus(sys.argv[1], partitions=3, session_timeout_ms=6000)
    consumer = bus.consumer(sys.argv[2], [sys.argv[3]], prefetch=True)
    consumer.poll(10, 5.0)
    print(consumer._process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_fetch_process_ends_soon_after_its_parent_is_killed(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    line = line_of_killed_script(
        tmp_path, CHILD, kafka_bootstrap, f"g-{unique}", f"t.parent.{unique}"
    )
    fetcher = int(line)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _running(fetcher):
        time.sleep(0.2)
    alive = _running(fetcher)
    if alive:  # do not leave it behind when the test fails
        psutil.Process(fetcher).kill()
    assert not alive, "the fetch process outlived its parent"


def _consume(consumer: PrefetchingConsumer, n: int) -> list[Record]:
    got: list[Record] = []
    deadline = time.monotonic() + 30
    while len(got) < n and time.monotonic() < deadline:
        got.extend(consumer.poll(10, 0.5))
    return got


def test_a_killed_fetch_process_is_unavailable_and_loses_nothing(
    kafka_bootstrap: str, unique: str
) -> None:
    """Killed with a batch fetched ahead: the consumer says the bus is unavailable, and a
    new member gets exactly the records after the last commit, that batch included."""
    topic, group = f"t.fetchkill.{unique}", f"g-{unique}"
    bus = KafkaBus(kafka_bootstrap, partitions=3, session_timeout_ms=6000)
    try:
        bus.ensure_topics([topic])
        bus.publish([Message(topic, "3204052001", f"{i}".encode()) for i in range(40)])
        consumer = bus.consumer(group, [topic], prefetch=True)
        assert isinstance(consumer, PrefetchingConsumer)
        assert [r.offset for r in _consume(consumer, 10)] == list(range(10))
        assert consumer.backlog() == 30  # so the next batch is being fetched ahead
        consumer.commit()
        assert [r.offset for r in consumer.poll(10, 5.0)] == list(range(10, 20))  # not committed
        os.kill(consumer._process.pid, signal.SIGKILL)
        consumer._process.join(10)
        with pytest.raises(BusUnavailable):
            for _ in range(3):  # a batch already read ahead may still be handed out first
                consumer.poll(10, 0.5)
        consumer.close()
        after = bus.consumer(group, [topic], prefetch=True)
        rest = _consume(after, 30)
        assert [r.offset for r in rest] == list(range(10, 40))
        assert after.poll(10, 0.5) == []
        after.close()
    finally:
        bus.close()
