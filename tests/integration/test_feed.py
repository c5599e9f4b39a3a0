"""The outbound feed under load: 10 000 facts paged with a cursor while more keep arriving.

The facts reach the agriculture service the way production delivers them (events on the
bus, consumed by the feed builder in a background thread); a reader pages through
``GET /agriculture/feed`` at the same time. Nothing may be lost or seen twice, numbers only
grow, and a redelivery of facts already in the feed adds nothing. Runs embedded (SQLite and
the in-process log) and distributed (Kafka and FerretDB/MongoDB, when the servers are up).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.agriculture.feed import FeedBuilder
from services.agriculture.service import SERVICE as AGRICULTURE
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.commands import build_event
from shared.consumer import ConsumerWorker
from shared.events import catalogue as ev
from shared.events.envelope import topic_for
from shared.http import create_app
from shared.ports.bus import Bus, Message
from shared.ports.store import Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import _drop_mongo, _mongo_store, token
from tests.servers import wait_for

FACTS = 10_000
FIRST = 6_000  # on the log before the reader starts; the rest arrive while it pages
PAGE = 500
# On Kafka every later test that starts a fresh consumer group replays what this one leaves
# on the shared log (on FerretDB, slowly): the distributed run pages through fewer facts.
DISTRIBUTED_FACTS = 2_000


def facts(district: str, n: int, tag: str) -> list[dict[str, Any]]:
    """Harvests, sales and livestock facts across three villages of ``district``."""
    rng = random.Random(n)
    villages = [f"{district}01{i:04d}" for i in (1, 2, 3)]
    start = date(2025, 1, 1)
    out = []
    for i in range(n):
        village = rng.choice(villages)
        household = f"{tag}hh-{village[-1]}-{rng.randint(1, 40)}"
        day = start + timedelta(days=rng.randint(0, 600))
        payload: ev.Payload
        kind = i % 3
        if kind == 0:
            payload = ev.HarvestRecorded(
                occurred_on=day,
                plot_id=f"{tag}plot-{i}",
                household_id=household,
                crop=rng.choice(["padi", "jagung", "cabai rawit"]),
                kg=rng.randint(50, 3000),
            )
        elif kind == 1:
            payload = ev.ProduceSold(
                occurred_on=day,
                household_id=household,
                crop="padi",
                kg=100,
                price_per_kg=6000,
                amount=600_000,
                channel="market",
            )
        else:
            payload = ev.AnimalsBorn(
                occurred_on=day,
                herd_id=f"{tag}herd-{i}",
                household_id=household,
                species="goat",
                count=1,
            )
        out.append(
            build_event(payload, village_code=village, subject=household, event_id=f"{tag}ev-{i}")
        )
    return out


def as_messages(events: list[dict[str, Any]]) -> list[Message]:
    return [
        Message(topic_for(e["source"].rsplit("/", 1)[-1]), e["villagecode"], json.dumps(e).encode())
        for e in events
    ]


@pytest.fixture(params=["embedded", "distributed"])
def platform(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient, Bus, Settings, int]]:
    """The agriculture service with its feed builder running in the background (and how
    many facts to page through)."""
    unique = f"{random.randint(0, 10**9):09d}"
    store: Store
    bus: Bus
    if request.param == "embedded":
        store = SqliteStore(tmp_path / "store.sqlite3")
        bus = InProcessBus(tmp_path / "bus.sqlite3", partitions=3)
        dropped = None
    else:
        from shared.adapters.kafka_bus import KafkaBus

        url = request.getfixturevalue("mongo_url")
        store, dropped = _mongo_store(url)
        bus = KafkaBus(
            request.getfixturevalue("kafka_bootstrap"), partitions=3, session_timeout_ms=6000
        )
    settings = Settings(data_dir=tmp_path / "data", feed_group=f"feed-{unique}")
    runtime = bootstrap(settings, [AGRICULTURE], label="agriculture", store=store, bus=bus)
    try:
        with TestClient(create_app(runtime, title="t", background=True)) as client:
            yield client, bus, settings, FACTS if request.param == "embedded" else DISTRIBUTED_FACTS
    finally:
        if dropped is not None:
            _drop_mongo(request.getfixturevalue("mongo_url"), dropped)


def _page(client: TestClient, headers: dict[str, str], since: int) -> dict[str, Any]:
    r = client.get("/agriculture/feed", params={"since": since, "limit": PAGE}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_paging_10k_facts_while_more_arrive_loses_and_repeats_nothing(platform: tuple) -> None:
    client, bus, settings, total = platform
    first = total * FIRST // FACTS
    district = f"39{random.randint(10, 99)}"
    tag = f"f{random.randint(0, 10**6)}-"
    events = facts(district, total, tag)
    published = {e["id"] for e in events}
    headers = token(settings, Role.EXTENSION_WORKER, district=district)
    bus.ensure_topics([topic_for("agriculture"), topic_for("livestock")])
    bus.publish(as_messages(events[:first]))

    writing = threading.Event()
    writing.set()

    def writer() -> None:
        rest = events[first:]
        for i in range(0, len(rest), 200):
            bus.publish(as_messages(rest[i : i + 200]))
            time.sleep(0.05)
        writing.clear()

    thread = threading.Thread(target=writer, name="feed-writer")
    thread.start()
    seen: list[str] = []
    seqs: list[int] = []
    sample: dict[str, dict[str, Any]] = {}
    pages_while_writing = 0
    since = 0
    deadline = time.monotonic() + 240
    while len(seen) < total and time.monotonic() < deadline:
        page = _page(client, headers, since)
        if writing.is_set():
            pages_while_writing += 1
        seen += [item["event_id"] for item in page["items"]]
        seqs += [item["seq"] for item in page["items"]]
        for item in page["items"]:
            sample.setdefault(item["data"].get("crop") or item["type"], item)
        assert all(item["village_code"].startswith(district) for item in page["items"])
        since = int(page["next_cursor"])
        if not page["items"]:
            time.sleep(0.1)
    thread.join()

    assert len(seen) == len(set(seen)), "a fact was served twice"
    assert set(seen) == published, f"{len(published - set(seen))} facts never served"
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert pages_while_writing > 0, "the reader never paged while facts were still arriving"

    # A redelivery of facts already in the feed (a producer retry, a replayed partition)
    # adds nothing: the cursor stays where it is.
    (builder,) = [
        w
        for w in client.app.state.runtime.workers
        if isinstance(w, ConsumerWorker) and isinstance(w.handler, FeedBuilder)
    ]
    consumed = builder.processed
    bus.publish(as_messages(events[: total // 10]))
    wait_for(
        lambda: builder.processed >= consumed + total // 10,
        timeout_s=120,
        what="the feed builder to consume the redelivery",
    )
    assert _page(client, headers, since) == {"items": [], "next_cursor": str(since)}

    # The crop's AGROVOC concept travels with the fact where it is known.
    rice = "http://aims.fao.org/aos/agrovoc/c_6599"
    assert sample["padi"]["agrovoc"] == {"id": "c_6599", "uri": rice}
    assert sample["jagung"]["agrovoc"]["id"] == "c_12332"
    assert sample["cabai rawit"]["agrovoc"] is None  # no checked concept: none rather than a guess
    goats = sample["lumbung.livestock.animals_born.v1"]
    assert goats["agrovoc"] is None and goats["household_id"].startswith(tag)


def test_a_village_token_pages_only_its_village(platform: tuple) -> None:
    client, bus, settings, _total = platform
    district = f"38{random.randint(10, 99)}"
    tag = f"v{random.randint(0, 10**6)}-"
    events = facts(district, 600, tag)
    bus.ensure_topics([topic_for("agriculture"), topic_for("livestock")])
    bus.publish(as_messages(events))
    village = f"{district}010001"
    mine = {e["id"] for e in events if e["villagecode"] == village}
    headers = token(settings, Role.VILLAGE_OPERATOR, villages=[village])
    got: list[str] = []
    since, deadline = 0, time.monotonic() + 300  # Kafka: the shared log is read first
    while len(got) < len(mine) and time.monotonic() < deadline:
        page = client.get(
            "/agriculture/feed", params={"since": since, "limit": 50}, headers=headers
        ).json()
        got += [i["event_id"] for i in page["items"]]
        since = int(page["next_cursor"])
        time.sleep(0.05 if not page["items"] else 0)
    assert sorted(got) == sorted(mine)
    other = client.get(
        "/agriculture/feed", params={"village_code": f"{district}010002"}, headers=headers
    )
    assert other.status_code == 403
