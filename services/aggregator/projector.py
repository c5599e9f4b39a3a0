"""Projects a batch of events into the read model, exactly once in effect.

Per batch: load the ledgers of the households it names (one read), fold each event in
(a ledger ignores an event id it already holds), write the changed ledgers and reference
documents (one bulk write; each document is atomic on its own, and a ledger carries its
own applied ids, so a redelivered event is detected, never counted twice), then rebuild
the precomputed views of every village the batch touched. The consumer commits offsets
only after all of that: a crash anywhere before the commit redelivers the batch, which
changes no ledger and rebuilds the same views.

While the consumer is catching up (full batches), rebuilding views after every batch
would dominate the work, so touched villages are written as durable "dirty" markers in
the same bulk write and rebuilt once the consumer reaches the head of the log or idles.
A marker outlives a crash, so no pending rebuild is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.aggregator.domain.ledger import (
    apply_event,
    apply_program,
    apply_village,
    household_id_of,
    new_ledger,
)
from services.aggregator.domain.months import month_of
from services.aggregator.readmodel import (
    DIRTY,
    ENROLMENTS,
    LEDGERS,
    PROGRAMS,
    VILLAGES,
    scan,
    strip_id,
)
from services.aggregator.views import ViewBuilder
from shared.events import catalogue as ev
from shared.events.envelope import CloudEvent
from shared.observability import EVENTS_CONSUMED, EVENTS_DUPLICATE
from shared.ports.store import BulkUpsert, Doc, Store

Event = tuple[CloudEvent, ev.Payload]
_ALL_MONTHS = "0000-00"  # registration is reference data: it counts in every month


class Projector:
    def __init__(
        self,
        store: Store,
        views: ViewBuilder,
        *,
        defer_views: bool = False,
        full_batch: int = 1000,
    ) -> None:
        self.store = store
        self.views = views
        self.defer_views = defer_views
        self.full_batch = full_batch

    def apply(self, events: Sequence[Event]) -> None:
        touched: dict[str, str] = {}

        def touch(village: str | None, month: str) -> None:
            if village:
                touched[village] = min(touched.get(village, month), month)

        by_household: dict[str, list[Event]] = {}
        programs: list[Event] = []
        villages: list[Event] = []
        for envelope, payload in events:
            EVENTS_CONSUMED.labels(envelope.type).inc()
            household = household_id_of(payload)
            if household is not None:
                by_household.setdefault(household, []).append((envelope, payload))
            elif isinstance(payload, ev.ProgramCreated):
                programs.append((envelope, payload))
            elif isinstance(payload, ev.VillageRegistered):
                villages.append((envelope, payload))

        upserts = self._fold_ledgers(by_household, touch)
        upserts += self._fold_references(PROGRAMS, programs, apply_program, touch)
        upserts += self._fold_references(VILLAGES, villages, apply_village, touch)
        upserts += self._dirty_markers(touched)
        self.store.bulk_replace(upserts)
        catching_up = len(events) >= self.full_batch
        if not self.defer_views and not catching_up:
            self.flush_views()

    def _dirty_markers(self, touched: dict[str, str]) -> list[BulkUpsert]:
        marked = self.store.get_many(DIRTY, touched)
        return [
            BulkUpsert(
                DIRTY,
                {"_id": village, "first": min(month, marked.get(village, {}).get("first", month))},
            )
            for village, month in touched.items()
        ]

    def _fold_ledgers(self, by_household: dict[str, list[Event]], touch: Any) -> list[BulkUpsert]:
        stored = self.store.get_many(LEDGERS, by_household)
        upserts: list[BulkUpsert] = []
        for household, events in by_household.items():
            ledger = strip_id(stored[household]) if household in stored else new_ledger(household)
            before = ledger.get("village_code")
            changed = False
            for envelope, payload in events:
                if apply_event(ledger, envelope, payload):
                    changed = True
                else:
                    EVENTS_DUPLICATE.labels(envelope.type).inc()
                month = (
                    _ALL_MONTHS
                    if isinstance(payload, ev.HouseholdRegistered)
                    else month_of(payload.occurred_on)
                )
                touch(envelope.villagecode, month)
                touch(ledger.get("village_code"), month)
                if isinstance(payload, ev.ParticipantEnrolled):
                    upserts.append(
                        BulkUpsert(
                            ENROLMENTS,
                            {
                                "_id": f"{payload.program_id}|{household}",
                                "program_id": payload.program_id,
                                "household_id": household,
                            },
                        )
                    )
            if before and before != ledger.get("village_code"):
                touch(before, _ALL_MONTHS)
            if changed:
                upserts.append(BulkUpsert(LEDGERS, {"_id": household, **ledger}))
        return upserts

    def _fold_references(
        self, collection: str, events: list[Event], fold: Any, touch: Any
    ) -> list[BulkUpsert]:
        if not events:
            return []
        key = "program_id" if collection == PROGRAMS else "village_code"
        ids = {getattr(payload, key) for _, payload in events}
        docs: dict[str, Doc | None] = {
            k: strip_id(v) for k, v in self.store.get_many(collection, ids).items()
        }
        for envelope, payload in events:
            doc_id = getattr(payload, key)
            docs[doc_id] = fold(docs.get(doc_id), envelope, payload)
            codes = payload.village_codes if collection == PROGRAMS else [payload.village_code]
            for code in codes:
                touch(code, _ALL_MONTHS)
        return [
            BulkUpsert(collection, {**doc, "_id": doc_id})
            for doc_id, doc in docs.items()
            if doc is not None
        ]

    def flush_views(self) -> int:
        """Rebuild the views of every village marked dirty; return how many villages."""
        pending = {d["_id"]: d["first"] for d in scan(self.store, DIRTY, {})}
        self.views.refresh(pending)
        for village in pending:
            self.store.delete(DIRTY, village)
        return len(pending)

    def tick(self) -> None:
        """Called when a poll finds nothing new: rebuild what was deferred while catching up,
        then precompute a newly begun month (not during a replay)."""
        if not self.defer_views:
            self.flush_views()
            self.views.roll_over()
