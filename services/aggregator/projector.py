"""Projects a batch of events into the read model, exactly once in effect.

Per batch: load the ledgers of the households it names (one read), fold each event in
(a ledger ignores an event id it already holds), write the changed ledgers and reference
documents (one bulk write; each document is atomic on its own, and a ledger carries its
own applied ids, so a redelivered event is detected, never counted twice), then rebuild
the precomputed views of every village the batch touched. The consumer commits offsets
only after all of that: a crash anywhere before the commit redelivers the batch, which
changes no ledger and rebuilds the same views.

While the consumer is catching up (a full batch, or a full batch's worth known to be
waiting behind this one), rebuilding views after every batch would dominate the work, so
touched villages are written as durable "dirty" markers in the same bulk write and rebuilt
once the consumer reaches the head of the log or idles. A full batch with only a little
known to wait behind it (``in_place_backlog``) is a live consumer briefly behind: it still
updates its villages in place, below.
A marker outlives a crash, so no pending rebuild is lost. Under a steady trickle of small
batches the live consumer also rebuilds at most every ``min_flush_interval_s`` (the markers
hold what is pending meanwhile; an idle poll rebuilds the rest).

Live batches (not catching up, no programme or village reference events) do not rebuild a
village at all: each changed household's part of its village months is computed before and
after the fold, and ``ViewBuilder.apply_changes`` takes the old part away from the stored
totals and adds the new one. The marker is still written with the ledgers and deleted only
after the village is updated, so a crash in between leaves a marker and a full rebuild. A
village already marked (a rebuild pending) or a household whose registration moves it to
another village take the rebuild path instead. Only registered households touch villages: a
fact naming another village than its household's is set aside in the ledger and changes no
village, and an unregistered household counts nowhere yet.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from services.aggregator.domain.ledger import (
    apply_event,
    apply_program,
    apply_village,
    household_id_of,
    new_ledger,
    set_aside,
    time_key,
)
from services.aggregator.domain.months import month_of
from services.aggregator.readmodel import (
    DIRTY,
    ENROLMENTS,
    IDM,
    LEDGERS,
    PROGRAMS,
    VILLAGES,
    idm_document,
    scan,
    strip_id,
)
from services.aggregator.views import Change, ViewBuilder
from shared.events import catalogue as ev
from shared.events.envelope import CloudEvent
from shared.observability import EVENTS_CONSUMED, EVENTS_DUPLICATE, FACTS_SET_ASIDE
from shared.ports.store import BulkUpsert, Doc, Store

Event = tuple[CloudEvent, ev.Payload]
_ALL_MONTHS = "0000-00"  # registration is reference data: it counts in every month


@lru_cache(maxsize=4096)
def _month_of_day(day: date) -> str:
    return month_of(day)


class Projector:
    def __init__(
        self,
        store: Store,
        views: ViewBuilder,
        *,
        defer_views: bool = False,
        full_batch: int = 1000,
        min_flush_interval_s: float = 0.0,
        district_interval_s: float = 0.0,
        in_place_backlog: int | None = None,
    ) -> None:
        self.store = store
        self.views = views
        self.defer_views = defer_views
        self.full_batch = full_batch
        # A full batch with less than this known to be waiting behind it is a live consumer
        # a little behind, not a catch-up: its households still update their villages in
        # place (a few per village), where deferring would mark every village it touched for
        # a rebuild of all its households (a district's 300 villages: ~30 s of scoring).
        self.in_place_backlog = 10 * full_batch if in_place_backlog is None else in_place_backlog
        # Under a steady trickle of small batches, rebuilding the touched villages after
        # every batch rebuilds the same villages many times a second; with an interval, a
        # batch rebuilds only if the last rebuild is that old (the dirty markers keep the
        # rest, and an idle poll's tick rebuilds whatever is left).
        self.min_flush_interval_s = min_flush_interval_s
        self._last_flush = float("-inf")
        # A live batch's district patches are held and written at most this often (0: with
        # every batch); each district month lists every village of its district.
        self.district_interval_s = district_interval_s
        self._last_district_flush = time.monotonic()
        self._live_months: tuple[str, list[str]] | None = None  # (current month, its range)
        self._deferred: set[str] = set()  # villages whose rebuild a catch-up deferred

    def live_months(self) -> list[str] | None:
        """The precomputed months a live batch updates in place (None: rebuild instead)."""
        current = self.views.current_month()
        if self._live_months is None or self._live_months[0] != current:
            months = self.views.precomputed_months()
            if months is None:
                return None
            self._live_months = (current, months)
        return self._live_months[1]

    def apply(self, events: Sequence[Event], *, backlog: int | None = None) -> None:
        """Fold one batch in; ``backlog``: records the consumer knows to be waiting behind
        it. A full batch, or a full batch's worth behind a short one, is catching up (views
        deferred to one rebuild) unless less than ``in_place_backlog`` is known to wait."""
        self.views.recover_districts()
        touched: dict[str, str] = {}

        def touch(village: str | None, month: str) -> None:
            if village:
                current = touched.get(village)
                if current is None or month < current:
                    touched[village] = month

        by_household: dict[str, list[Event]] = {}
        programs: list[Event] = []
        villages: list[Event] = []
        idm: list[Event] = []
        consumed: Counter[str] = Counter()
        for event in events:
            envelope, payload = event
            consumed[envelope.type] += 1
            household = household_id_of(payload)
            if household is not None:
                found = by_household.get(household)
                if found is None:
                    by_household[household] = [event]
                else:
                    found.append(event)
            elif isinstance(payload, ev.ProgramCreated):
                programs.append(event)
            elif isinstance(payload, ev.VillageRegistered):
                villages.append(event)
            elif isinstance(payload, ev.IdmRecorded):
                idm.append(event)
        for etype, n in consumed.items():
            EVENTS_CONSUMED.labels(etype).inc(n)

        catching_up = len(events) >= self.full_batch or (backlog or 0) >= self.full_batch
        a_little_behind = backlog is not None and backlog < self.in_place_backlog
        references = self._fold_references(PROGRAMS, programs, apply_program, touch)
        references += self._fold_references(VILLAGES, villages, apply_village, touch)
        live = not self.defer_views and (not catching_up or a_little_behind) and not touched
        months = self.live_months() if live else None
        changes = _Changes(months) if months is not None else None
        upserts = self._fold_ledgers(by_household, touch, changes) + references
        upserts += self._idm_documents(idm)
        markers, pending = self._dirty_markers(touched)
        if catching_up and not live:
            # a catch-up ends in one rebuild of every village it touched: when that will
            # be shared among worker processes, start them now rather than then
            self._deferred.update(touched)
            self.views.warm(len(self._deferred))
        # the markers first: a village's ledgers never change without a marker already
        # stored, which goes only once its views show the change (so a redelivered batch,
        # whose events change nothing any more, need not mark anything)
        self.store.bulk_replace(markers)
        self.store.bulk_replace(upserts)
        if changes is not None and months is not None:
            ready = {
                village: items
                for village, items in changes.by_village.items()
                if village not in pending and village not in changes.blocked
            }
            hold = self.district_interval_s > 0
            done = self.views.apply_changes(ready, months, hold_districts=hold)
            for village in done:
                self.store.delete(DIRTY, village)
            if time.monotonic() - self._last_district_flush >= self.district_interval_s:
                self.flush_districts()
        due = time.monotonic() - self._last_flush >= self.min_flush_interval_s
        if not self.defer_views and not catching_up and due:
            self.flush_views()

    def _dirty_markers(self, touched: dict[str, str]) -> tuple[list[BulkUpsert], set[str]]:
        """The markers of the touched villages, and which of them were marked already."""
        marked = self.store.get_many(DIRTY, touched)
        markers = [
            BulkUpsert(
                DIRTY,
                {"_id": village, "first": min(month, marked.get(village, {}).get("first", month))},
            )
            for village, month in touched.items()
        ]
        return markers, set(marked)

    def _idm_documents(self, events: list[Event]) -> list[BulkUpsert]:
        """One document per village and year; a later recording (a correction) wins."""
        if not events:
            return []
        newest: dict[str, Doc] = {}
        for envelope, payload in events:
            doc = idm_document(time_key(envelope.time), payload)
            kept = newest.get(doc["_id"])
            if kept is None or doc["recorded_at"] >= kept["recorded_at"]:
                newest[doc["_id"]] = doc
        stored = self.store.get_many(IDM, newest)
        return [
            BulkUpsert(IDM, doc)
            for key, doc in newest.items()
            if doc["recorded_at"] >= stored.get(key, {}).get("recorded_at", "")
        ]

    def _fold_ledgers(
        self, by_household: dict[str, list[Event]], touch: Any, changes: _Changes | None
    ) -> list[BulkUpsert]:
        stored = self.store.get_many(LEDGERS, by_household)
        upserts: list[BulkUpsert] = []
        duplicates: Counter[str] = Counter()
        if changes is not None:
            changes.load_programs(self.store, stored.values(), by_household.values())
        for household, events in by_household.items():
            ledger = stored.get(household)
            if ledger is None:
                ledger = new_ledger(household)
            else:  # a fresh document from the store: drop its id in place (as strip_id)
                ledger.pop("_id", None)
                ledger.pop("_cmds", None)
            before = ledger.get("village_code") if ledger.get("registered") else None
            aside_before = set_aside(ledger)
            old_parts = (
                self.views.parts(ledger, changes.programs, changes.months)
                if changes is not None and household in stored
                else None
            )
            changed = False
            for envelope, payload in events:
                applied = apply_event(ledger, envelope, payload)
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
                if not applied:
                    # applied before: that batch marked the village before writing the ledger
                    duplicates[envelope.type] += 1
                    continue
                changed = True
                month = (
                    _ALL_MONTHS
                    if isinstance(payload, ev.HouseholdRegistered)
                    else _month_of_day(payload.occurred_on)
                )
                # only a registered household's own village can change: a fact naming
                # another one is set aside and counts there no more than here, and an
                # unregistered household counts nowhere yet
                if ledger["registered"]:
                    touch(ledger["village_code"], month)
            if before and before != ledger.get("village_code"):
                touch(before, _ALL_MONTHS)
            if changed:
                newly_aside = set_aside(ledger) - aside_before
                if newly_aside > 0:
                    FACTS_SET_ASIDE.labels(ledger["village_code"][:4]).inc(newly_aside)
                upserts.append(BulkUpsert(LEDGERS, {"_id": household, **ledger}))
                if changes is not None:
                    new_parts = self.views.parts(ledger, changes.programs, changes.months)
                    changes.add(household, before, ledger, old_parts, new_parts)
        for etype, n in duplicates.items():
            EVENTS_DUPLICATE.labels(etype).inc(n)
        return upserts

    def _fold_references(
        self, collection: str, events: list[Event], fold: Any, touch: Any
    ) -> list[BulkUpsert]:
        """Programme or village documents; their villages are touched only when a field a
        view uses changed (not for a redelivery, or a newer event that repeats the same
        facts: the ordering ``key`` alone does not count)."""
        if not events:
            return []
        key = "program_id" if collection == PROGRAMS else "village_code"
        ids = {getattr(payload, key) for _, payload in events}
        before: dict[str, Doc] = {
            k: strip_id(v) for k, v in self.store.get_many(collection, ids).items()
        }
        docs: dict[str, Doc | None] = dict(before)
        for envelope, payload in events:
            doc_id = getattr(payload, key)
            docs[doc_id] = fold(docs.get(doc_id), envelope, payload)
        upserts = []
        for doc_id, doc in docs.items():
            old = before.get(doc_id)
            if doc is None or doc == old:
                continue
            upserts.append(BulkUpsert(collection, {**doc, "_id": doc_id}))
            if old is not None and _facts(old) == _facts(doc):
                continue
            for code in {*_village_codes(old), *_village_codes(doc)}:
                touch(code, _ALL_MONTHS)
        return upserts

    def flush_views(self, *, workers: int | None = None) -> int:
        """Rebuild the views of every village marked dirty (``workers``: processes that may
        share the work, by default the view builder's); return how many villages."""
        self._last_flush = time.monotonic()
        self._deferred.clear()
        pending = {d["_id"]: d["first"] for d in scan(self.store, DIRTY, {})}
        self.views.refresh(pending, workers=workers)
        for village in pending:
            self.store.delete(DIRTY, village)
        return len(pending)

    def flush_districts(self) -> int:
        """Write the district patches held back; return how many district months."""
        self._last_district_flush = time.monotonic()
        return self.views.flush_districts()

    def tick(self) -> None:
        """Called when a poll finds nothing new: write the held district patches, rebuild
        what was deferred while catching up, then precompute a newly begun month (not during
        a replay)."""
        if not self.defer_views:
            self.views.recover_districts()
            self.flush_districts()
            self.flush_views()
            self.views.roll_over()


def _facts(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k != "key"}


def _village_codes(doc: Doc | None) -> list[str]:
    if doc is None:
        return []
    return list(doc.get("village_codes") or [doc["village_code"]])


class _Changes:
    """The households a live batch changed, grouped by village, with their parts of the
    village months before and after (``ViewBuilder.apply_changes``)."""

    def __init__(self, months: list[str]) -> None:
        self.months = months
        self.programs: dict[str, Doc] = {}
        self.by_village: dict[str, list[Change]] = {}
        self.blocked: set[str] = set()  # villages that need a rebuild instead

    def load_programs(self, store: Store, ledgers: Any, batches: Any) -> None:
        """The programmes the batch's households are or become enrolled in (for their
        pathway statuses), as the rebuild reads them."""
        ids = {pid for ledger in ledgers for pid in ledger.get("enrol", {})}
        ids |= {
            payload.program_id
            for events in batches
            for _, payload in events
            if isinstance(payload, ev.ParticipantEnrolled)
        }
        self.programs = {pid: strip_id(doc) for pid, doc in store.get_many(PROGRAMS, ids).items()}

    def add(
        self,
        household: str,
        before: str | None,
        ledger: Doc,
        old_parts: Any,
        new_parts: Any,
    ) -> None:
        village = ledger.get("village_code")
        if old_parts is None and new_parts is None:
            # not registered before nor after (facts that arrived before the household's
            # registration): it counts in no village, so no view changes (nothing was
            # touched for it); facts naming another village than the household's are set
            # aside and change no village either
            return
        if village is None or before not in (None, village):
            self.blocked.update(v for v in (before, village) if v)
            return
        self.by_village.setdefault(village, []).append((household, old_parts, new_parts))
