"""Concurrent writers of one document, on every store adapter and server (issue 20).

The outbox and every compare-and-set in Lumbung rely on one guarantee: a write of a single
document is atomic. Two writers of the same document never lose each other's change, and of
several conditional writes made against the same state exactly one succeeds. MongoDB gives
it; FerretDB 1.24 as released does not (its update is a read, a change in Go and a write,
with nothing around them), which lost acknowledged PATCHes when the relay acked the same
document. These tests run writers at once, on separate connections, for a bounded time, and
judge only by what each writer was told.

``LUMBUNG_CONCURRENCY_S`` sets the time each test runs its writers (default 3 s).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from shared.ports.store import CollectionSpec, Doc, Store

COLL = "hot"
DURATION_S = float(os.environ.get("LUMBUNG_CONCURRENCY_S", "3"))
WRITERS = 4
SPECS = [CollectionSpec(COLL, outbox=True)]


def event(eid: str) -> dict:
    return {
        "id": eid,
        "type": "lumbung.registry.household_updated.v1",
        "source": "/lumbung/registry",
        "villagecode": "3204052001",
        "data": {},
    }


@pytest.fixture
def connections(store: Store) -> Iterator[Callable[[int], list[Store]]]:
    """``n`` stores on the same data: each its own connection where the adapter has one."""
    opened: list[Store] = []

    def connect(n: int) -> list[Store]:
        reopen = store.reopener()
        stores = [reopen() if reopen else store for _ in range(n)]
        opened.extend(s for s in stores if s is not store)
        for s in stores:  # as every process of a service does at its start
            s.ensure(SPECS)
        return stores

    yield connect
    for s in opened:
        s.close()


@dataclass
class Run:
    """Threads that loop until the deadline; the first error of any of them fails the run."""

    deadline: float = field(default_factory=lambda: time.monotonic() + DURATION_S)
    errors: list[BaseException] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def spawn(self, body: Callable[[], None]) -> None:
        def loop() -> None:
            try:
                while time.monotonic() < self.deadline and not self.errors:
                    body()
            except BaseException as exc:  # reported by join()
                self.errors.append(exc)

        thread = threading.Thread(target=loop, daemon=True)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=DURATION_S + 60)
        assert not any(t.is_alive() for t in self.threads), "a writer hung"
        if self.errors:
            raise self.errors[0]


class Acker:
    """The relay's ack path: read what is pending, note it as published, unset it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.published: list[str] = []

    def once(self) -> int:
        entries = self.store.outbox_pending(100)
        for entry in entries:
            self.published.extend(str(e["id"]) for e in entry.events)
            self.store.outbox_ack(entry)
        return len(entries)

    def drain(self) -> None:
        for _ in range(1000):
            if self.once() == 0:
                return
        raise AssertionError("the outbox did not drain")


@pytest.fixture
def hot(store: Store) -> Store:
    store.ensure(SPECS)
    return store


def test_every_acknowledged_update_of_one_document_is_kept(
    hot: Store, connections: Callable[[int], list[Store]]
) -> None:
    """WRITERS writers set their own field of one document, each update with an event, while
    the relay acks that document's outbox: every update that answered "applied" is in the
    document afterwards, and every event of one is published exactly once."""
    hot.insert(COLL, {"_id": "h", "n": 0}, events=[event("e-0")], command_id="c-0")
    stores = connections(WRITERS + 1)
    acked_value: dict[str, int] = {}
    acked_events = {"e-0"}
    lock = threading.Lock()
    run = Run()

    def writer(i: int) -> Callable[[], None]:
        name, seq = f"w{i}", iter(range(1, 10**9))

        def body() -> None:
            k = next(seq)
            eid = f"{name}-{k}"
            outcome = stores[i].update(
                COLL, "h", set_fields={name: k}, events=[event(eid)], command_id=eid
            )
            assert outcome == "applied", f"{eid}: {outcome}"
            with lock:
                acked_value[name] = k
                acked_events.add(eid)

        return body

    acker = Acker(stores[WRITERS])
    for i in range(WRITERS):
        run.spawn(writer(i))
    run.spawn(acker.once)
    run.join()
    acker.drain()

    doc = hot.get(COLL, "h")
    assert doc is not None
    lost = {name: (doc.get(name), k) for name, k in acked_value.items() if doc.get(name) != k}
    assert not lost, f"acknowledged updates lost (stored, acknowledged): {lost}"
    assert len(acked_events) > WRITERS * 5, "the writers hardly ran"
    published = acker.published
    never = acked_events - set(published)
    assert not never, f"{len(never)} of {len(acked_events)} acknowledged events never published"
    assert sorted(published) == sorted(set(published)), "an event was published twice"
    assert set(published) == acked_events, "an event that no writer was told of was published"
    assert hot.outbox_backlog() == 0


def test_compare_and_set_on_one_document_has_exactly_one_winner(
    hot: Store, connections: Callable[[int], list[Store]]
) -> None:
    """Contenders each read the counter and set it one higher on condition that it is
    unchanged; another writer updates the same document and the relay acks its events. Each
    value is won exactly once, and the counter ends at the number of wins."""
    hot.insert(COLL, {"_id": "c", "v": 0}, command_id="c-0")
    stores = connections(WRITERS + 2)
    wins: list[int] = []
    noise_acked: list[int] = []
    lock = threading.Lock()
    run = Run()

    def contender(i: int) -> Callable[[], None]:
        def body() -> None:
            current = stores[i].get(COLL, "c")
            assert current is not None
            v = current["v"]
            outcome = stores[i].update(
                COLL,
                "c",
                set_fields={"v": v + 1, "by": i},
                command_id=uuid.uuid4().hex,
                expect={"v": v},
            )
            assert outcome in ("applied", "precondition_failed"), outcome
            if outcome == "applied":
                with lock:
                    wins.append(v)

        return body

    seq = iter(range(1, 10**9))

    def noise() -> None:
        k = next(seq)
        cmd = f"noise-{k}"
        outcome = stores[WRITERS].update(
            COLL, "c", set_fields={"noise": k}, events=[event(cmd)], command_id=cmd
        )
        assert outcome == "applied"
        noise_acked.append(k)

    acker = Acker(stores[WRITERS + 1])
    for i in range(WRITERS):
        run.spawn(contender(i))
    run.spawn(noise)
    run.spawn(acker.once)
    run.join()
    acker.drain()

    doc = hot.get(COLL, "c")
    assert doc is not None
    twice = sorted({v for v in wins if wins.count(v) > 1})
    assert not twice, f"{len(twice)} values had more than one winner, e.g. {twice[:5]}"
    assert sorted(wins) == list(range(len(wins))), "a won value is missing"
    assert doc["v"] == len(wins), f"counter {doc['v']} after {len(wins)} wins"
    assert doc.get("noise") == noise_acked[-1], "an acknowledged update was lost"
    assert len(wins) > WRITERS, "the contenders hardly ran"


def test_put_if_absent_has_exactly_one_winner(
    hot: Store, connections: Callable[[int], list[Store]]
) -> None:
    """Contenders claim the same id at once (the idempotency, KK and sign-in claims), round
    after round: for each id exactly one insert wins, and every loser is shown the winner's
    document."""
    stores = connections(WRITERS)
    barrier = threading.Barrier(WRITERS)

    def claim(i: int, claim_id: str) -> Doc | None:
        barrier.wait(timeout=30)
        return stores[i].put_if_absent(COLL, {"_id": claim_id, "by": i})

    rounds = 0
    deadline = time.monotonic() + DURATION_S
    with ThreadPoolExecutor(WRITERS) as pool:
        while time.monotonic() < deadline:
            claim_id = f"claim-{rounds}"
            answers = list(pool.map(claim, range(WRITERS), [claim_id] * WRITERS))
            won = [i for i, held in enumerate(answers) if held is None]
            assert len(won) == 1, f"{claim_id}: {len(won)} winners"
            shown = {held["by"] for held in answers if held is not None}
            assert shown == set(won), f"{claim_id}: losers were shown {shown}, winner {won}"
            rounds += 1
    assert rounds >= 5, "the contenders hardly ran"
