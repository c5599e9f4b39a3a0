"""Baselines the figures compare with (not product code): a raw kafka-python producer and
consumer, and a naive projector that does one store read and one store write per event.

The naive projector folds with the real domain functions (``apply_event``, ``apply_program``,
``apply_village``) and rebuilds the touched villages with the real ``ViewBuilder`` when it
idles, so the only difference from ``Projector`` is the store traffic: per event instead of
per batch.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer

from services.aggregator.domain.ledger import (
    apply_event,
    apply_program,
    apply_village,
    household_id_of,
    new_ledger,
)
from services.aggregator.domain.months import month_of
from services.aggregator.readmodel import ENROLMENTS, LEDGERS, PROGRAMS, VILLAGES, strip_id
from services.aggregator.views import ViewBuilder
from shared.events import catalogue as ev
from shared.events.envelope import CloudEvent
from shared.ports.bus import Message
from shared.ports.store import Store


def raw_produce(bootstrap: str, messages: Sequence[Message]) -> float:
    """Seconds for a plain kafka-python producer (the adapter's settings: acks=all,
    idempotence, linger 5 ms) to send and flush ``messages``."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    try:
        started = time.perf_counter()
        for m in messages:
            producer.send(m.topic, value=m.value, key=m.key.encode())
        producer.flush()
        return time.perf_counter() - started
    finally:
        producer.close()


def raw_consume(bootstrap: str, topics: Sequence[str], expected: int, timeout_s: float) -> float:
    """Seconds from the first record to the ``expected``-th for a plain consumer in a new
    group that only decodes each value (json.loads) and commits after each poll."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=1000,
    )
    consumer.subscribe(list(topics))
    seen, first = 0, None
    deadline = time.monotonic() + timeout_s
    try:
        while seen < expected and time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=500, max_records=1000)
            if batches and first is None:
                first = time.perf_counter()
            for records in batches.values():
                for r in records:
                    json.loads(r.value)
                    seen += 1
            if batches:
                consumer.commit()
        if seen < expected:
            raise RuntimeError(f"raw consumer saw {seen} of {expected} records")
        return time.perf_counter() - (first or time.perf_counter())
    finally:
        consumer.close(autocommit=False)


class NaiveProjector:
    """One store read and one store write per event; views rebuilt when idle."""

    def __init__(self, store: Store, views: ViewBuilder) -> None:
        self.store = store
        self.views = views
        self.touched: dict[str, str] = {}

    def _touch(self, village: str | None, month: str) -> None:
        if village:
            self.touched[village] = min(self.touched.get(village, month), month)

    def apply(
        self, events: Sequence[tuple[CloudEvent, ev.Payload]], *, backlog: int | None = None
    ) -> None:
        for envelope, payload in events:
            household = household_id_of(payload)
            if household is not None:
                stored = self.store.get(LEDGERS, household)
                ledger = strip_id(stored) if stored is not None else new_ledger(household)
                apply_event(ledger, envelope, payload)
                self.store.replace(LEDGERS, {"_id": household, **ledger})
                registration = isinstance(payload, ev.HouseholdRegistered)
                month = "0000-00" if registration else month_of(payload.occurred_on)
                self._touch(envelope.villagecode, month)
                self._touch(ledger.get("village_code"), month)
                if isinstance(payload, ev.ParticipantEnrolled):
                    self.store.replace(
                        ENROLMENTS,
                        {
                            "_id": f"{payload.program_id}|{household}",
                            "program_id": payload.program_id,
                            "household_id": household,
                        },
                    )
            elif isinstance(payload, ev.ProgramCreated | ev.VillageRegistered):
                program = isinstance(payload, ev.ProgramCreated)
                collection = PROGRAMS if program else VILLAGES
                doc_id = payload.program_id if program else payload.village_code
                stored = self.store.get(collection, doc_id)
                fold = apply_program if program else apply_village
                doc = fold(strip_id(stored) if stored else None, envelope, payload)  # type: ignore[arg-type]
                self.store.replace(collection, {**doc, "_id": doc_id})
                for code in payload.village_codes if program else [payload.village_code]:
                    self._touch(code, "0000-00")

    def tick(self) -> None:
        if self.touched:
            self.views.refresh(self.touched)
            self.touched = {}
