"""Precomputed village and district answers, rebuilt from ledgers for the months touched.

They are pure functions of the stored ledgers and programmes, so rebuilding them after a
crash (or twice) gives the same documents: the projector always rebuilds the views of
every village a batch touched, whether or not its events were new.

Each village month is also stored as ``VillageTotals`` (sums over its households). A live
batch that changes a few households then updates their villages by taking each household's
old part away and adding its new one (``apply_changes``), and patches those villages'
entries in the district months: the work is per changed household, not per household of
the village. The result is the same document a rebuild gives, to the bit.

A district month lists every village of the district (a few hundred), so patching it is the
dearest write of a live batch. The live aggregator therefore holds the district patches in
memory and writes them at most once per interval (``flush_districts``); a durable marker per
district, written with the village documents, says which months wait. A marker a crash left
behind is found before the next batch and those months are rebuilt from the village months.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from itertools import repeat
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import Any

import psutil

from services.aggregator.domain.months import add_months, month_of, month_range
from services.aggregator.domain.rules import RuleSet
from services.aggregator.domain.scoring import (
    HouseholdPart,
    VillageTotals,
    district_summary,
    follow_ups,
    household_parts,
    village_months_with_totals,
)
from services.aggregator.readmodel import (
    DISTRICT_DIRTY,
    DISTRICT_MONTHS,
    STATE,
    VILLAGE_MONTHS,
    VILLAGE_TOTALS,
    VILLAGES,
    month_key,
    programs_of,
    scan,
    village_ledgers,
)
from shared.ports.store import BulkUpsert, Doc, Store
from shared.runtime import tune_gc

log = logging.getLogger(__name__)

# One household's change in a batch: (household id, its parts before, its parts after), each
# None when it is not registered (then it counts nowhere).
Change = tuple[str, list[HouseholdPart] | None, list[HouseholdPart] | None]


# A rebuild of at least this many villages may use worker processes, a few villages a task
# (fewer when the villages are few, so that every worker gets about as much to do).
PARALLEL_MIN_VILLAGES = 16
VILLAGES_PER_TASK = 8
TASKS_PER_WORKER = 5


def _tasks(jobs: list[Any], workers: int) -> list[list[Any]]:
    size = max(1, min(VILLAGES_PER_TASK, -(-len(jobs) // (workers * TASKS_PER_WORKER))))
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def _village_upserts(
    store: Store, rules: RuleSet, village_code: str, months: list[str]
) -> list[BulkUpsert]:
    """The village month and totals documents of ``village_code``, rebuilt from its ledgers."""
    ledgers = village_ledgers(store, [village_code])
    programs = programs_of(store, ledgers)
    upserts: list[BulkUpsert] = []
    for month, (summary, statuses, totals) in zip(
        months,
        village_months_with_totals(
            ledgers, programs, village_code=village_code, months=months, rules=rules
        ),
        strict=True,
    ):
        summary["follow_ups"] = follow_ups(statuses)
        upserts += ViewBuilder._village_docs(village_code, month, summary, totals)
    return upserts


def _worker_context() -> BaseContext:
    """Workers fork from a fresh server process that has imported this module already,
    never from this one (whose threads may hold locks). As with every start method but
    fork, a script run by its path must guard its entry point (``if __name__ ==
    "__main__"``): each worker imports the main module."""
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


_worker_stores: dict[str, Store] = {}  # per worker process: one connection per store
PARENT_CHECK_S = 1.0


def _follow_parent(parent_pid: int) -> None:
    """A worker's initializer: end this worker soon after the process that started the pool
    ends, even by SIGKILL (a pool worker waits on a queue it also holds the writing end of,
    so it would otherwise never notice; its own parent is the forkserver). A zombie counts
    as ended, and psutil tells a reused pid from the original process. The collector is
    tuned as in the services (``tune_gc``): view building allocates much and keeps little."""
    tune_gc()
    try:
        parent = psutil.Process(parent_pid)
    except psutil.NoSuchProcess:
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            try:
                if parent.is_running() and parent.status() != psutil.STATUS_ZOMBIE:
                    continue
            except psutil.NoSuchProcess:
                pass
            os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _ready() -> None:
    """A task that only makes a worker process start (``ViewBuilder.warm``)."""


def _villages_in_worker(
    opener: Callable[[], Store], rules: RuleSet, jobs: list[tuple[str, list[str]]]
) -> list[BulkUpsert]:
    """A task of a worker process: the documents of a few villages (written by the parent)."""
    key = repr(opener)  # each task unpickles its own copy of the same opener
    store = _worker_stores.get(key)
    if store is None:
        store = _worker_stores[key] = opener()
    return [u for code, months in jobs for u in _village_upserts(store, rules, code, months)]


class ViewBuilder:
    def __init__(
        self,
        store: Store,
        rules: RuleSet,
        clock: Callable[[], date],
        *,
        history_months: int,
        workers: int = 1,
    ) -> None:
        """``workers``: processes a large rebuild may share its villages among. Their pool
        starts with the first such rebuild and is kept until ``close``."""
        self.store = store
        self.rules = rules
        self.clock = clock
        self.history_months = history_months
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._pool_size = 0
        # (district, month) -> village -> summary, not yet written into the district month
        self._district_patches: dict[tuple[str, str], dict[str, Doc]] = {}
        self._district_marked: dict[str, str] = {}  # district -> first month its marker names
        self._recovered = False

    def current_month(self) -> str:
        return month_of(self.clock())

    def first_month(self) -> str:
        """The oldest precomputed month; older ones are computed on request."""
        return add_months(self.current_month(), -(self.history_months - 1))

    def village_month(self, village_code: str, month: str) -> dict[str, Any]:
        """The village answer computed now from its ledgers (for months not precomputed)."""
        ledgers = village_ledgers(self.store, [village_code])
        programs = programs_of(self.store, ledgers)
        summary, statuses, _ = village_months_with_totals(
            ledgers, programs, village_code=village_code, months=[month], rules=self.rules
        )[0]
        summary["follow_ups"] = follow_ups(statuses)
        return summary

    def precomputed_months(self) -> list[str] | None:
        """The months a live batch updates in place, or None while a new month is not
        precomputed yet (then villages are rebuilt)."""
        state = self.store.get(STATE, "views")
        last = self.current_month()
        if state is None or state.get("through", "") < last:
            return None
        return month_range(self.first_month(), last)

    def parts(
        self, ledger: Doc, programs: Mapping[str, Doc], months: list[str]
    ) -> list[HouseholdPart] | None:
        return household_parts(ledger, programs, months, self.rules)

    @staticmethod
    def _village_docs(village_code: str, month: str, summary: Doc, totals: VillageTotals) -> list:
        key = month_key(village_code, month)
        where = {"village_code": village_code, "district_code": village_code[:4], "month": month}
        return [
            BulkUpsert(VILLAGE_MONTHS, {"_id": key, **where, "summary": summary}),
            BulkUpsert(VILLAGE_TOTALS, {"_id": key, **where, **totals.to_doc()}),
        ]

    def close(self) -> None:
        """Stop the worker processes, if a rebuild started them."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def warm(self, villages: int) -> None:
        """Start the worker processes now if a rebuild of ``villages`` villages would use
        them and they are not running: a catch-up ends in one rebuild of every village it
        touched, which then need not wait for them (their start overlaps the catch-up)."""
        if (
            self._pool is not None
            or self.workers <= 1
            or villages < PARALLEL_MIN_VILLAGES
            or self.store.reopener() is None
        ):
            return
        pool = self._workers(self.workers)
        for _ in range(self.workers):  # a pool starts a process per task, up to its size
            pool.submit(_ready)

    def refresh(self, touched: Mapping[str, str], *, workers: int | None = None) -> None:
        """Rebuild village months from each village's first touched month to now, then the
        districts of those villages for the same months. With ``workers`` (default: this
        builder's) > 1 and many villages, worker processes compute the villages (each on its
        own connection to the store) while this one writes what they return."""
        if not touched:
            return
        # held patches first: one of them may be older than what this rebuild writes
        self.flush_districts()
        last, floor = self.current_month(), self.first_month()
        districts: dict[str, str] = {}
        jobs: list[tuple[str, list[str]]] = []
        for village_code, first in sorted(touched.items()):
            months = month_range(max(first, floor), last)
            if not months:
                continue
            jobs.append((village_code, months))
            district = village_code[:4]
            districts[district] = min(districts.get(district, months[0]), months[0])
        workers = self.workers if workers is None else workers
        opener = self.store.reopener() if workers > 1 else None
        if opener is not None and len(jobs) >= PARALLEL_MIN_VILLAGES:
            try:
                self._in_workers(jobs, workers, opener)
            except BrokenProcessPool as exc:  # a worker died (killed, out of memory)
                log.warning("view workers lost (%s); starting new ones", exc)
                self.close()
                self._in_workers(jobs, workers, opener)
        else:
            self.store.bulk_replace(
                [
                    u
                    for code, months in jobs
                    for u in _village_upserts(self.store, self.rules, code, months)
                ]
            )
        self._refresh_districts(districts, last)
        self.store.replace(STATE, {"_id": "views", "through": last})

    def _in_workers(
        self, jobs: list[tuple[str, list[str]]], workers: int, opener: Callable[[], Store]
    ) -> None:
        pool = self._workers(workers)
        for upserts in pool.map(
            _villages_in_worker, repeat(opener), repeat(self.rules), _tasks(jobs, workers)
        ):
            self.store.bulk_replace(upserts)

    def _workers(self, workers: int) -> ProcessPoolExecutor:
        """The kept pool when it has ``workers`` processes; else (a one-off count) a new one
        that is kept in its place."""
        if self._pool is not None and self._pool_size != workers:
            self.close()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                workers,
                mp_context=_worker_context(),
                initializer=_follow_parent,
                initargs=(os.getpid(),),
            )
            self._pool_size = workers
        return self._pool

    def apply_changes(
        self,
        changes: Mapping[str, list[Change]],
        months: list[str],
        *,
        hold_districts: bool = False,
    ) -> set[str]:
        """Update the precomputed months of each village in ``changes`` by its households'
        changes; return the villages done. A village some of whose months are not stored as
        totals is left out (the caller rebuilds it). With ``hold_districts`` the district
        months are patched by the next ``flush_districts`` (a marker is stored now)."""
        wanted: dict[str, list[int]] = {}  # village -> indexes of the months that change
        for village, items in changes.items():
            wanted[village] = [
                i
                for i in range(len(months))
                if any(
                    (old[i] if old else None) != (new[i] if new else None) for _, old, new in items
                )
            ]
        keys = [month_key(v, months[i]) for v, idx in wanted.items() for i in idx]
        stored = self.store.get_many(VILLAGE_TOTALS, keys)
        done: set[str] = set()
        upserts: list[BulkUpsert] = []
        patches: dict[tuple[str, str], dict[str, Doc]] = {}  # (district, month) -> summaries
        for village, idx in wanted.items():
            if any(month_key(village, months[i]) not in stored for i in idx):
                continue
            for i in idx:
                month = months[i]
                totals = VillageTotals.from_doc(stored[month_key(village, month)])
                for household, old, new in changes[village]:
                    if old is not None:
                        totals.add(household, old[i], -1)
                    if new is not None:
                        totals.add(household, new[i], 1)
                summary = totals.summary(village, month, self.rules)
                summary["follow_ups"] = totals.follow_ups()
                upserts += self._village_docs(village, month, summary, totals)
                patches.setdefault((village[:4], month), {})[village] = summary
            done.add(village)
        if not hold_districts:
            self.store.bulk_replace(upserts)
            self._patch_districts(patches)
            return done
        for (district, month), summaries in patches.items():
            self._district_patches.setdefault((district, month), {}).update(summaries)
            marked = self._district_marked.get(district)
            if marked is None or month < marked:
                self._district_marked[district] = month
                upserts.append(BulkUpsert(DISTRICT_DIRTY, {"_id": district, "first": month}))
        self.store.bulk_replace(upserts)  # the village months and the markers, together
        return done

    def recover_districts(self) -> int:
        """Rebuild the district months named by markers this process did not write (a
        crash left them); return how many districts. Runs once, before the first batch."""
        if self._recovered:
            return 0
        left = {
            d["_id"]: d["first"]
            for d in scan(self.store, DISTRICT_DIRTY, {})
            if d["_id"] not in self._district_marked
        }
        if left:
            self._refresh_districts(
                {d: max(first, self.first_month()) for d, first in left.items()},
                self.current_month(),
            )
            for district in left:
                self.store.delete(DISTRICT_DIRTY, district)
        self._recovered = True
        return len(left)

    def flush_districts(self) -> int:
        """Write the district patches held in memory; return how many district months."""
        if not self._district_patches:
            return 0
        self._patch_districts(self._district_patches)  # kept in memory if this fails
        count, marked = len(self._district_patches), self._district_marked
        self._district_patches, self._district_marked = {}, {}
        for district in marked:
            self.store.delete(DISTRICT_DIRTY, district)
        return count

    def _patch_districts(self, patches: Mapping[tuple[str, str], Mapping[str, Doc]]) -> None:
        """Put new village summaries into their stored district months (the other villages'
        entries and sums are kept); a district month that does not list one of the villages
        is rebuilt instead."""
        stored = self.store.get_many(DISTRICT_MONTHS, [month_key(d, m) for d, m in patches])
        upserts: list[BulkUpsert] = []
        rebuild: dict[str, str] = {}
        for (district, month), summaries in sorted(patches.items()):
            doc = stored.get(month_key(district, month))
            entries = {e["village_code"]: e for e in doc["summary"]["villages"]} if doc else {}
            sums = dict(doc.get("index_sums", [])) if doc else {}
            if not set(summaries) <= set(entries) or not set(entries) <= set(sums):
                rebuild[district] = min(rebuild.get(district, month), month)
                continue
            villages = [
                {**entry, "_index_sum": sums[code]} | summaries.get(code, {})
                for code, entry in entries.items()
            ]
            names = {code: entry["name"] for code, entry in entries.items()}
            upserts.append(self._district_doc(district, month, villages, names))
        self.store.bulk_replace(upserts)
        if rebuild:
            self._refresh_districts(rebuild, self.current_month())

    def _district_doc(
        self, district: str, month: str, villages: list[Doc], names: Mapping[str, str | None]
    ) -> BulkUpsert:
        return BulkUpsert(
            DISTRICT_MONTHS,
            {
                "_id": month_key(district, month),
                "district_code": district,
                "month": month,
                "summary": district_summary(district, month, villages, names, self.rules),
                # each village's exact _index_sum, so one village's change patches the month
                "index_sums": sorted([v["village_code"], v["_index_sum"]] for v in villages),
            },
        )

    def _refresh_districts(self, districts: Mapping[str, str], last: str) -> None:
        upserts = []
        for district, first in sorted(districts.items()):
            names = {
                v["village_code"]: v.get("name")
                for v in scan(self.store, VILLAGES, {"district_code": district})
            }
            for month in month_range(first, last):
                found = self.store.get_many(
                    VILLAGE_MONTHS, [month_key(code, month) for code in names]
                )
                villages = [d["summary"] for d in found.values()]
                upserts.append(self._district_doc(district, month, villages, names))
        self.store.bulk_replace(upserts)

    def roll_over(self) -> bool:
        """When a new month has begun, precompute it for every village; True if it did."""
        state = self.store.get(STATE, "views")
        current = self.current_month()
        if state is not None and state.get("through", "") >= current:
            return False
        since = current if state is None else add_months(state["through"], 1)
        villages = {v["village_code"]: since for v in scan(self.store, VILLAGES, {})}
        if state is not None:
            for doc in scan(self.store, VILLAGE_MONTHS, {"month": state["through"]}):
                villages.setdefault(doc["village_code"], since)
        self.refresh(villages)
        self.store.replace(STATE, {"_id": "views", "through": current})
        return True
