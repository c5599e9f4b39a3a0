"""The outbox relay: publishes stored events to the bus, then removes them from the outbox.

At-least-once: a crash between publish and ack republishes the same event ids, which the
consumers drop. When the bus is down the relay backs off and the outbox keeps growing; the
API keeps accepting writes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time

from shared.events.envelope import topic_for
from shared.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG, RELAY_FAILURES
from shared.ports.bus import Bus, BusUnavailable, Message
from shared.ports.store import Store, StoreUnavailable

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self, store: Store, bus: Bus, *, label: str, batch: int = 500, interval_s: float = 0.2
    ) -> None:
        self.store = store
        self.bus = bus
        self.label = label
        self.batch = batch
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._topics_ready: set[str] = set()

    def drain_once(self) -> int:
        """Publish one batch of pending events; return how many were published."""
        entries = self.store.outbox_pending(self.batch)
        if not entries:
            return 0
        messages = [
            Message(
                topic_for(event["source"].rsplit("/", 1)[-1]), event["villagecode"], _encode(event)
            )
            for entry in entries
            for event in entry.events
        ]
        topics = sorted({m.topic for m in messages} - self._topics_ready)
        if topics:
            self.bus.ensure_topics(topics)
            self._topics_ready.update(topics)
        self.bus.publish(messages)
        for entry in entries:
            self.store.outbox_ack(entry)
        for m in messages:
            EVENTS_PUBLISHED.labels(m.topic).inc()
        return len(messages)

    def drain(self, timeout_s: float = 30.0) -> int:
        """Publish until the outbox is empty (or the time is up); return how many."""
        deadline = time.monotonic() + timeout_s
        total = 0
        while time.monotonic() < deadline:
            sent = self.drain_once()
            total += sent
            if sent == 0:
                break
        return total

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name=f"relay-{self.label}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        backoff = self.interval_s
        while not self._stop.is_set():
            try:
                sent = self.drain_once()
                backoff = self.interval_s
                if sent:
                    continue
            except (BusUnavailable, StoreUnavailable) as exc:
                RELAY_FAILURES.labels(self.label).inc()
                log.warning("relay %s: %s; retrying in %.1fs", self.label, exc, backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:
                RELAY_FAILURES.labels(self.label).inc()
                log.exception("relay %s failed; retrying", self.label)
                backoff = min(backoff * 2, 5.0)
            self._wake.wait(backoff)
            self._wake.clear()

    def refresh_backlog(self) -> None:
        with contextlib.suppress(StoreUnavailable):
            OUTBOX_BACKLOG.labels(self.label).set(self.store.outbox_backlog())


def _encode(event: dict[str, object]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
