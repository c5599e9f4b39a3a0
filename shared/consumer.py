"""A consumer-group worker: poll a batch, apply it, dead-letter the invalid, then commit.

Offsets are committed only after the batch is stored and its dead letters are published,
so a crash anywhere in between redelivers the batch; the projection must be idempotent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from shared.events.catalogue import MAX_EVENT_BYTES, InvalidEvent, Payload, decode_event
from shared.events.envelope import DEADLETTER_TOPIC, CloudEvent
from shared.observability import BATCH_LATENCY, BATCH_SIZE, CONSUMER_LAG, DEAD_LETTERS
from shared.ports.bus import Bus, BusUnavailable, Consumer, Message, Record
from shared.ports.store import StoreUnavailable

log = logging.getLogger(__name__)
DEADLETTER_SAMPLE_BYTES = 64 * 1024


def _as_text(raw: bytes) -> bytes | str:
    """The value as ``json.loads`` would read it, decoded here when that is plain UTF-8.

    ``json.loads(bytes)`` first sniffs the encoding (BOMs, UTF-16/32 null patterns) in
    Python, then decodes with ``surrogatepass``; for a value that starts with ``{`` that is
    always UTF-8, so decoding it here the same way gives ``decode_event`` the identical
    text without the per-event sniffing. Anything else (too large, another first byte,
    not decodable) is passed on as bytes, so every verdict and message stays the same.
    """
    if len(raw) <= MAX_EVENT_BYTES and raw[:1] == b"{" and raw[1:2] != b"\x00":
        try:
            return raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return raw
    return raw


class BatchHandler(Protocol):
    def apply(
        self, events: Sequence[tuple[CloudEvent, Payload]], *, backlog: int | None = None
    ) -> None:
        """Apply decoded events idempotently; raise to have the whole batch redelivered.

        ``backlog``: records known to be waiting behind this batch (None: not known), so a
        handler can tell catching up from keeping up."""

    def tick(self) -> None:
        """Housekeeping between polls (e.g. a new month begins)."""


def deadletter_message(record: Record, reason: str) -> Message:
    body = {
        "reason": reason,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key,
        "size": len(record.value),
        "value": record.value[:DEADLETTER_SAMPLE_BYTES].decode("utf-8", errors="replace"),
    }
    return Message(DEADLETTER_TOPIC, record.key or "unknown", json.dumps(body).encode())


class ConsumerWorker:
    def __init__(
        self,
        bus: Bus,
        group: str,
        topics: Sequence[str],
        handler: BatchHandler,
        *,
        batch: int = 1000,
        poll_timeout_s: float = 0.5,
        publish_dead_letters: bool = True,
        prefetch: bool = False,
        report_lag: bool = True,
    ) -> None:
        """``prefetch``: ask the bus for a consumer that fetches the next batch of a backlog
        while this one is handled (``Bus.consumer``); ``report_lag``: set the process's
        ``lumbung_consumer_lag`` gauge (one worker per topic may, the gauge has no group)."""
        self.report_lag = report_lag
        self.publish_dead_letters = publish_dead_letters
        self.prefetch = prefetch
        self.dead_letters = 0
        self.bus = bus
        self.group = group
        self.topics = list(topics)
        self.handler = handler
        self.batch = batch
        self.poll_timeout_s = poll_timeout_s
        self._consumer: Consumer | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unconfirmed = False  # the last commit was sent without waiting for its answer
        self.processed = 0

    def lag(self) -> int:
        """Records still to consume on this worker's partitions (0 before the first poll)."""
        return sum(self._ensure_consumer().lag().values())

    def _ensure_consumer(self) -> Consumer:
        if self._consumer is None:
            self.bus.ensure_topics([*self.topics, DEADLETTER_TOPIC])
            self._consumer = self.bus.consumer(self.group, self.topics, prefetch=self.prefetch)
        return self._consumer

    def step(self) -> int:
        """One poll-apply-commit round; return the number of records handled."""
        consumer = self._ensure_consumer()
        records = consumer.poll(self.batch, self.poll_timeout_s)
        if not records:
            self._confirm_commit(consumer)
            self.handler.tick()
            return 0
        started = time.perf_counter()
        valid: list[tuple[CloudEvent, Payload]] = []
        dead: list[Message] = []
        for record in records:
            try:
                envelope, payload = decode_event(_as_text(record.value))
                if record.key is not None and record.key != envelope.villagecode:
                    raise InvalidEvent("key does not match villagecode")
                valid.append((envelope, payload))
            except InvalidEvent as exc:
                dead.append(deadletter_message(record, exc.reason))
        backlog = consumer.backlog()
        self.handler.apply(valid, backlog=backlog)
        self.dead_letters += len(dead)
        if dead and self.publish_dead_letters:
            self.bus.publish(dead)
            for msg in dead:
                DEAD_LETTERS.labels(json.loads(msg.value)["topic"]).inc()
        # With records known to be waiting, the next poll follows at once and its commit
        # covers this one, so it is not waited for; the last batch of a backlog, and a
        # live batch, wait for theirs.
        behind = bool(backlog)
        consumer.commit(wait=not behind)
        self._unconfirmed = behind
        BATCH_SIZE.observe(len(records))
        BATCH_LATENCY.observe(time.perf_counter() - started)
        self.processed += len(records)
        return len(records)

    def _confirm_commit(self, consumer: Consumer) -> None:
        """Commit once more, waiting, after commits that were not waited for."""
        if self._unconfirmed:
            consumer.commit()
            self._unconfirmed = False

    def run_until_idle(self, idle_polls: int = 2) -> int:
        """Consume until ``idle_polls`` consecutive empty polls (for tests and replays)."""
        total, idle = 0, 0
        while idle < idle_polls:
            n = self.step()
            total += n
            idle = idle + 1 if n == 0 else 0
        return total

    def refresh_lag(self) -> None:
        if self._consumer is None or not self.report_lag:
            return
        try:
            for (topic, part), lag in self._consumer.lag().items():
                CONSUMER_LAG.labels(topic, str(part)).set(lag)
        except Exception as exc:  # lag is best effort for a scrape
            log.debug("lag unavailable: %s", exc)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name=f"consumer-{self.group}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            if self._thread.is_alive():  # still inside a step: leave its consumer alone
                self._unconfirmed = False
            self._thread = None
        if self._consumer is not None and self._unconfirmed:
            try:
                self._confirm_commit(self._consumer)
            except Exception as exc:  # the records are delivered again; nothing is lost
                log.warning("consumer %s: last commit on stop failed: %s", self.group, exc)
        self._close_consumer()

    def _close_consumer(self) -> None:
        self._unconfirmed = False
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception as exc:
                log.debug("consumer close: %s", exc)
            self._consumer = None

    def _loop(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self.step()
                backoff = 0.5
            except (BusUnavailable, StoreUnavailable) as exc:
                log.warning("consumer %s: %s; retrying in %.1fs", self.group, exc, backoff)
                self._close_consumer()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:
                log.exception("consumer %s failed; the batch will be redelivered", self.group)
                self._close_consumer()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
