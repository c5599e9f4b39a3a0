"""The consumer dead-letters what it cannot decode, applies the rest, and keeps going."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from shared.adapters.inproc_bus import InProcessBus
from shared.consumer import ConsumerWorker
from shared.events.envelope import DEADLETTER_TOPIC
from shared.ports.bus import Message
from tests.unit.test_events import good


class Collect:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def apply(self, events: Sequence, *, backlog: int | None = None) -> None:
        self.ids.extend(e.id for e, _ in events)

    def tick(self) -> None:
        pass


def test_bad_messages_go_to_the_dead_letter_topic_and_good_ones_are_applied() -> None:
    bus = InProcessBus(partitions=2)
    topic = "lumbung.commerce.v1"
    valid = good()
    bus.publish(
        [
            Message(topic, "3204052001", b"{broken"),
            Message(topic, "3204052001", json.dumps(valid).encode()),
            Message(
                topic,
                "3204052001",
                json.dumps({**valid, "id": "ev-2", "type": "lumbung.x.y.v1"}).encode(),
            ),
            Message(topic, "3204052009", json.dumps({**valid, "id": "ev-3"}).encode()),
        ]
    )
    handler = Collect()
    worker = ConsumerWorker(bus, "agg", [topic], handler, poll_timeout_s=0.05)
    assert worker.run_until_idle() == 4
    assert handler.ids == ["ev-1"]
    dead = bus.consumer("inspect", [DEADLETTER_TOPIC]).poll(10, 0.1)
    reasons = sorted(json.loads(d.value)["reason"] for d in dead)
    assert len(reasons) == 3
    assert any(r.startswith("not JSON") for r in reasons)
    assert any("unknown event type" in r for r in reasons)
    assert any("key does not match" in r for r in reasons)
    bus.publish([Message(topic, "3204052001", json.dumps({**valid, "id": "ev-4"}).encode())])
    worker.run_until_idle()
    assert handler.ids == ["ev-1", "ev-4"]


def test_a_failing_batch_is_not_committed_and_comes_back() -> None:
    bus = InProcessBus(partitions=1)
    topic = "lumbung.commerce.v1"
    bus.publish([Message(topic, "3204052001", json.dumps(good()).encode())])

    class Crash:
        def apply(self, events: Sequence, *, backlog: int | None = None) -> None:
            raise RuntimeError("store write failed")

        def tick(self) -> None:
            pass

    crashing = ConsumerWorker(bus, "agg", [topic], Crash(), poll_timeout_s=0.05)
    with pytest.raises(RuntimeError, match="store write failed"):
        crashing.step()
    crashing.stop()
    handler = Collect()
    ConsumerWorker(bus, "agg", [topic], handler, poll_timeout_s=0.05).run_until_idle()
    assert handler.ids == ["ev-1"]
