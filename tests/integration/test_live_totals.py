"""Live batches update the precomputed village and district months in place (old household
parts taken away, new ones added) instead of rebuilding the village; the documents equal, to
the bit, those a rebuild from every ledger gives."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import psutil
import pytest

from services.aggregator.context import aggregator_of
from services.aggregator.readmodel import (
    DIRTY,
    DISTRICT_DIRTY,
    DISTRICT_MONTHS,
    LEDGERS,
    VILLAGE_MONTHS,
    VILLAGE_TOTALS,
    scan,
)
from services.aggregator.service import SERVICE, TOPICS
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.consumer import ConsumerWorker
from shared.ports.store import Store
from shared.runtime import Runtime, bootstrap
from shared.settings import Settings
from tests.scenario import messages, scenario

COMPARED = (VILLAGE_MONTHS, VILLAGE_TOTALS, DISTRICT_MONTHS, LEDGERS)


def runtime(tmp_path: Path, name: str, store: Store | None = None) -> Runtime:
    settings = Settings(data_dir=tmp_path / name, consumer_batch=100_000, view_months=12)
    rt = bootstrap(
        settings,
        [SERVICE],
        label="aggregator",
        store=store or SqliteStore(tmp_path / f"{name}.sqlite3"),
        bus=InProcessBus(tmp_path / f"{name}-bus.sqlite3"),
        clock=lambda: date(2026, 11, 15),
    )
    rt.start(background=False)
    return rt


def fold(rt: Runtime, batch: int) -> None:
    worker = ConsumerWorker(
        rt.bus, "g", TOPICS, aggregator_of(rt).projector, batch=batch, poll_timeout_s=0.01
    )
    worker.run_until_idle()
    worker.stop()


def documents(rt: Runtime) -> dict[str, list[dict]]:
    return {
        name: sorted(scan(rt.store, name, {}), key=lambda d: str(d["_id"])) for name in COMPARED
    }


def rebuilds_of(rt: Runtime) -> list[set[str]]:
    """The villages of each full rebuild the runtime's view builder does from now on."""
    views = aggregator_of(rt).views
    rebuilt: list[set[str]] = []
    refresh = views.refresh

    def counting(touched, **kw):  # type: ignore[no-untyped-def]
        rebuilt.append(set(touched))
        return refresh(touched, **kw)

    views.refresh = counting  # type: ignore[method-assign]
    return rebuilt


def late_events() -> list[dict]:
    """Households of the same villages registering and acting later (no reference events:
    those take the rebuild path), with pathway facts of a programme not known yet."""
    return [
        e
        for e in scenario(seed=9, households=12, facts=250, tag="late-")
        if e["type"].split(".")[2] not in ("village_registered", "program_created")
    ]


def test_live_batches_update_totals_in_place_equal_to_a_rebuild(
    tmp_path: Path, store: Store
) -> None:
    """Live on each store adapter (SQLite, FerretDB); the rebuild on SQLite."""
    first, late = scenario(seed=5, facts=300), late_events()

    live = runtime(tmp_path, "live", store)
    live.bus.publish(messages(first))
    fold(live, batch=100_000)  # one batch, no precomputed months yet: the rebuild path
    views = aggregator_of(live).views
    in_place: list[int] = []
    apply_changes = views.apply_changes

    def counting(changes, months, **kw):  # type: ignore[no-untyped-def]
        done = apply_changes(changes, months, **kw)
        in_place.append(len(done))
        return done

    views.apply_changes = counting  # type: ignore[method-assign]
    live.bus.publish(messages(late + first[-40:] + late[:30]))  # with 70 redeliveries
    fold(live, batch=5)
    assert len(in_place) >= len(late) // 5 and sum(in_place) >= len(late) // 5
    assert list(scan(live.store, DIRTY, {})) == []

    rebuilt = runtime(tmp_path, "rebuilt")
    rebuilt.bus.publish(messages(first + late))
    fold(rebuilt, batch=100_000)

    got, want = documents(live), documents(rebuilt)
    for name in COMPARED:
        assert want[name], name
        assert got[name] == want[name], name


def test_a_reference_event_repeating_the_same_facts_rebuilds_nothing(tmp_path: Path) -> None:
    """A village or programme registered again with the same facts (a newer event, another
    id) changes no view, so no village is rebuilt; a renamed village is."""
    from shared.commands import build_event
    from shared.events import catalogue as ev

    first = scenario(seed=5, facts=60)
    rt = runtime(tmp_path, "refs")
    rt.bus.publish(messages(first))
    fold(rt, batch=100_000)
    rebuilt = rebuilds_of(rt)
    village = next(e for e in first if e["type"].split(".")[2] == "village_registered")
    program = next(e for e in first if e["type"].split(".")[2] == "program_created")
    again = [
        build_event(
            ev.VillageRegistered.model_validate(village["data"]),
            village_code=village["villagecode"],
            subject=None,
            event_id="ev-again-1",
        ),
        build_event(
            ev.ProgramCreated.model_validate(program["data"]),
            village_code=program["villagecode"],
            subject=None,
            event_id="ev-again-2",
        ),
    ]
    rt.bus.publish(messages(again))
    fold(rt, batch=10)
    assert [r for r in rebuilt if r] == []

    renamed = ev.VillageRegistered.model_validate(village["data"] | {"name": "Desa Baru"})
    rt.bus.publish(
        messages(
            [
                build_event(
                    renamed, village_code=village["villagecode"], subject=None, event_id="ev-r"
                )
            ]
        )
    )
    fold(rt, batch=10)
    assert {village["villagecode"]} in rebuilt


def test_facts_before_a_registration_rebuild_nothing_and_count_once_registered(
    tmp_path: Path,
) -> None:
    """Topics are read in no fixed order between each other, so a household's sale can come
    before its registration: it counts in no village yet (no rebuild), then in place."""
    first = scenario(seed=5, facts=60)
    late = late_events()
    registrations = [e for e in late if e["type"].split(".")[2] == "household_registered"]
    facts = [e for e in late if e not in registrations]

    live = runtime(tmp_path, "early")
    live.bus.publish(messages(first))
    fold(live, batch=100_000)
    rebuilt = rebuilds_of(live)
    live.bus.publish(messages(facts))
    fold(live, batch=7)
    live.bus.publish(messages(registrations))
    fold(live, batch=3)
    assert [r for r in rebuilt if r] == []
    assert list(scan(live.store, DIRTY, {})) == []

    rebuilt_store = runtime(tmp_path, "early-rebuilt")
    rebuilt_store.bus.publish(messages(first + late))
    fold(rebuilt_store, batch=100_000)
    got, want = documents(live), documents(rebuilt_store)
    for name in COMPARED:
        assert got[name] == want[name], name


def test_district_patches_are_held_and_a_crash_rebuilds_those_months(tmp_path: Path) -> None:
    """Under load the district months take in their villages' changes at most once per
    interval: meanwhile a marker per district is stored with the village months. A process
    that dies holding patches leaves the markers; the next one rebuilds those months first."""
    first, late = scenario(seed=5, facts=300), late_events()
    want_rt = runtime(tmp_path, "want")
    want_rt.bus.publish(messages(first + late))
    fold(want_rt, batch=100_000)
    want = documents(want_rt)

    live = runtime(tmp_path, "held")
    live.bus.publish(messages(first))
    fold(live, batch=100_000)
    projector = aggregator_of(live).projector
    projector.district_interval_s = 3600.0  # nothing written by the interval in this test
    live.bus.publish(messages(late))
    worker = ConsumerWorker(live.bus, "g", TOPICS, projector, batch=5, poll_timeout_s=0.01)
    while worker.lag():
        worker.step()  # never an idle step: no tick writes the held patches
    worker.stop()
    held = documents(live)
    assert held[VILLAGE_MONTHS] == want[VILLAGE_MONTHS]
    assert held[DISTRICT_MONTHS] != want[DISTRICT_MONTHS]
    assert {d["_id"] for d in scan(live.store, DISTRICT_DIRTY, {})} == {
        d["district_code"] for d in want[DISTRICT_MONTHS]
    }
    # the process dies holding the patches: a new one on the same store and log
    again = runtime(tmp_path, "held")
    fold(again, batch=5)
    assert list(scan(again.store, DISTRICT_DIRTY, {})) == []
    got = documents(again)
    for name in COMPARED:
        assert got[name] == want[name], name


def test_a_rebuild_by_worker_processes_writes_the_same_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    """``refresh(workers=2)`` (what a replay does at its end): worker processes, each on its
    own connection to the store (SQLite, FerretDB), compute the villages; the documents equal
    a rebuild in this process."""
    from services.aggregator import views as views_module

    rt = runtime(tmp_path, "workers", store)
    rt.bus.publish(messages(scenario(seed=5, facts=300) + late_events()))
    fold(rt, batch=100_000)
    want = documents(rt)
    villages = {d["village_code"]: "0000-00" for d in want[VILLAGE_MONTHS]}
    assert len(villages) > 1
    for name in (VILLAGE_MONTHS, VILLAGE_TOTALS, DISTRICT_MONTHS):
        rt.store.drop(name)

    def not_here(*args: object) -> list:
        raise AssertionError("a village was computed in the parent process")

    monkeypatch.setattr(views_module, "PARALLEL_MIN_VILLAGES", 1)
    monkeypatch.setattr(views_module, "VILLAGES_PER_TASK", 1)
    monkeypatch.setattr(views_module, "_village_upserts", not_here)  # not in the workers
    before = descendants()
    aggregator_of(rt).views.refresh(villages, workers=2)
    got = documents(rt)
    for name in COMPARED:
        assert got[name] == want[name], name
    # the worker processes are kept for the next rebuild, and stop with the runtime
    kept = descendants() - before
    assert len(kept) >= 2
    aggregator_of(rt).views.refresh(villages, workers=2)
    assert documents(rt) == got
    assert kept <= descendants()  # the same processes did the second rebuild
    # a worker killed (as the OOM killer would) between rebuilds: new workers take over
    worker = next(p for p in map(psutil.Process, kept) if p.ppid() != os.getpid())
    worker.kill()  # forked by the forkserver, unlike the forkserver and its tracker
    worker.wait(timeout=10)
    aggregator_of(rt).views.refresh(villages, workers=2)
    assert documents(rt) == got
    kept = descendants() - before
    rt.stop()  # waits for the 2 workers to end (the forkserver and its tracker may stay)
    assert len(kept - descendants()) == 2


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()}
