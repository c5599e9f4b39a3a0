"""Webhooks against a real HTTP receiver on loopback: signatures, retries, order, disabling.

The agriculture service runs with its feed builder and dispatcher in background threads;
facts arrive as events on the bus. The receiver is a ``ThreadingHTTPServer`` that checks
each signature with the secret the subscription answered once, and can be told to fail.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.agriculture.feed import COLLECTIONS as FEED_COLLECTIONS
from services.agriculture.feed import FEED, seq_id
from services.agriculture.service import SERVICE as AGRICULTURE
from services.agriculture.webhooks import COLLECTIONS as WEBHOOK_COLLECTIONS
from services.agriculture.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    WEBHOOKS,
    Outcome,
    WebhookDispatcher,
    sign,
    verify,
)
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.commands import build_event
from shared.events import catalogue as ev
from shared.events.generate import ASYNCAPI
from shared.http import create_app
from shared.pii import PiiVault
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import token
from tests.integration.test_feed import as_messages
from tests.servers import wait_for

A, B = "3204052001", "3204052002"


class Receiver:
    """Records what arrives; answers ``fail_next`` failures (HTTP 503) before succeeding."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts: list[str] = []
        self.attempt_times: list[float] = []
        self.fail_next = 0
        self.always_fail = False
        self.secret = ""
        self.bad_signatures = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.attempts.append(self.headers[EVENT_ID_HEADER])
                owner.attempt_times.append(time.monotonic())
                if owner.always_fail or owner.fail_next > 0:
                    owner.fail_next = max(0, owner.fail_next - 1)
                    self.send_response(503)
                    self.end_headers()
                    return
                signature = self.headers[SIGNATURE_HEADER]
                if not verify(owner.secret, signature, body, now=time.time()):
                    owner.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                item = json.loads(body)
                assert item["event_id"] == self.headers[EVENT_ID_HEADER]
                owner.received.append(item)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, InProcessBus, Settings]]:
    settings = Settings(
        data_dir=tmp_path,
        webhook_backoff_s=0.2,
        webhook_backoff_max_s=0.5,
        webhook_max_failures=4,
        webhook_timeout_s=2,
        webhook_private_targets=True,  # the receiver listens on loopback
    )
    bus = InProcessBus(tmp_path / "bus.sqlite3", partitions=3)
    runtime = bootstrap(
        settings,
        [AGRICULTURE],
        label="agriculture",
        store=SqliteStore(tmp_path / "s.sqlite3"),
        bus=bus,
    )
    with TestClient(create_app(runtime, title="t", background=True)) as client:
        yield client, bus, settings


def harvests(village: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        build_event(
            ev.HarvestRecorded(
                occurred_on=date(2026, 3, 1),
                plot_id=f"plot-{village}-{i}",
                household_id=f"hh-{village}-{i % 5}",
                crop="padi",
                kg=100 + i,
            ),
            village_code=village,
            subject=f"hh-{village}-{i % 5}",
            event_id=f"ev-{village}-{i:04d}",
        )
        for i in range(start, start + n)
    ]


def subscribe(client: TestClient, headers: dict[str, str], url: str, **body: Any) -> dict:
    r = client.post("/agriculture/webhooks", json={"url": url, **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_signature_is_hmac_of_timestamp_and_body() -> None:
    header = sign("whsec_x", 1_700_000_000, b'{"a":1}')
    # the documented recipe, computed here independently: HMAC-SHA256 of "<t>.<body>"
    mac = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={mac}"
    assert verify("whsec_x", header, b'{"a":1}', now=1_700_000_010)
    assert not verify("whsec_y", header, b'{"a":1}', now=1_700_000_010)
    assert not verify("whsec_x", header, b'{"a":2}', now=1_700_000_010)
    assert not verify("whsec_x", header, b'{"a":1}', now=1_700_000_000 + 3600)  # stale


def test_receiver_failing_twice_gets_every_fact_once_in_order_per_village(
    api: tuple, receiver: Receiver
) -> None:
    client, bus, settings = api
    headers = token(settings, Role.EXTENSION_WORKER, villages=[A])
    hook = subscribe(client, headers, receiver.url)
    receiver.secret = hook["secret"]
    assert hook["secret"].startswith("whsec_") and hook["village_codes"] == [A]
    listed = client.get("/agriculture/webhooks", headers=headers).json()
    assert [h["webhook_id"] for h in listed] == [hook["webhook_id"]]
    assert "secret" not in listed[0] and "secret_sealed" not in listed[0]

    receiver.fail_next = 2
    facts = harvests(A, 30) + harvests(B, 10)  # B is outside the subscription
    bus.publish(as_messages(facts))
    wait_for(lambda: len(receiver.received) >= 30, timeout_s=30, what="30 deliveries")
    time.sleep(0.5)

    ids = [item["event_id"] for item in receiver.received]
    assert ids == [f"ev-{A}-{i:04d}" for i in range(30)], "every fact of A, once, in order"
    assert receiver.bad_signatures == 0
    # the first fact was attempted three times: two failures, then success
    assert receiver.attempts[:3] == [f"ev-{A}-0000"] * 3
    seqs = [item["seq"] for item in receiver.received]
    assert seqs == sorted(seqs)
    state = client.get(f"/agriculture/webhooks/{hook['webhook_id']}", headers=headers).json()
    assert state["status"] == "active" and state["failures"] == 0
    assert state["delivered"] == 30 and state["position"] == seqs[-1]
    assert state["last_error"] == "HTTP 503"


def test_a_district_webhook_keeps_each_villages_order_and_retries_wait_the_backoff(
    api: tuple, receiver: Receiver
) -> None:
    client, bus, settings = api
    headers = token(settings, Role.DISTRICT_ADMIN, district="3204")
    # backoffs longer than the dispatcher's 0.5 s idle poll, so a missing wait shows
    dispatcher = client.app.state.runtime.extras["webhook_dispatcher"]
    dispatcher.backoff_s, dispatcher.backoff_max_s = 0.6, 1.5
    hook = subscribe(client, headers, receiver.url)
    receiver.secret = hook["secret"]
    assert hook["village_codes"] == [] and hook["district_code"] == "3204"
    receiver.fail_next = 3
    a, b = harvests(A, 20), harvests(B, 20)
    bus.publish(as_messages([e for pair in zip(a, b, strict=True) for e in pair]))
    wait_for(lambda: len(receiver.received) >= 40, timeout_s=30, what="40 deliveries")

    for village, published in ((A, a), (B, b)):
        got = [i["event_id"] for i in receiver.received if i["village_code"] == village]
        assert got == [e["id"] for e in published], f"{village}: every fact once, in order"
    seqs = [item["seq"] for item in receiver.received]
    assert seqs == sorted(seqs) and len(set(seqs)) == 40
    # three failures of the first fact, each retry after at least backoff * 2^(failures-1)
    first = receiver.attempts[0]
    assert receiver.attempts[:4] == [first] * 4
    gaps = [t1 - t0 for t0, t1 in itertools.pairwise(receiver.attempt_times[:4])]
    for gap, backoff in zip(gaps, (0.6, 1.2, 1.5), strict=True):  # capped at 1.5
        assert gap >= backoff, (gaps, backoff)


def test_a_new_webhook_starts_at_the_head_unless_asked_to_replay(
    api: tuple, receiver: Receiver
) -> None:
    client, bus, settings = api
    headers = token(settings, Role.VILLAGE_OPERATOR, villages=[A])
    bus.publish(as_messages(harvests(A, 5)))
    wait_for(
        lambda: len(client.get("/agriculture/feed", headers=headers).json()["items"]) == 5,
        timeout_s=30,
        what="5 facts in the feed",
    )
    hook = subscribe(client, headers, receiver.url)
    replay = Receiver()
    try:
        replaying = subscribe(client, headers, replay.url, **{"from": "beginning"})
        receiver.secret, replay.secret = hook["secret"], replaying["secret"]
        assert hook["position"] == 5 and replaying["position"] == 0
        bus.publish(as_messages(harvests(A, 2, start=5)))
        wait_for(lambda: len(replay.received) == 7, timeout_s=30, what="the replay")
        wait_for(lambda: len(receiver.received) == 2, timeout_s=30, what="2 new facts")
    finally:
        replay.close()
    assert [i["event_id"] for i in receiver.received] == [f"ev-{A}-0005", f"ev-{A}-0006"]
    assert [i["event_id"] for i in replay.received] == [f"ev-{A}-{i:04d}" for i in range(7)]
    r = client.post(
        "/agriculture/webhooks", json={"url": receiver.url, "from": "yesterday"}, headers=headers
    )
    assert r.status_code == 422 and "from" in r.json()["detail"]


def test_repeated_failure_disables_with_the_reason_and_enable_resumes(
    api: tuple, receiver: Receiver
) -> None:
    client, bus, settings = api
    headers = token(settings, Role.VILLAGE_OPERATOR, villages=[A])
    hook = subscribe(client, headers, receiver.url)
    receiver.secret = hook["secret"]
    receiver.always_fail = True
    bus.publish(as_messages(harvests(A, 3)))
    url = f"/agriculture/webhooks/{hook['webhook_id']}"
    wait_for(
        lambda: client.get(url, headers=headers).json()["status"] == "disabled",
        timeout_s=30,
        what="the webhook to be disabled",
    )
    state = client.get(url, headers=headers).json()
    assert state["failures"] == 4
    assert state["disabled_reason"] == "4 consecutive failed deliveries; last: HTTP 503"
    assert state["last_error"] == "HTTP 503" and state["delivered"] == 0
    attempts = len(receiver.attempts)
    assert attempts == 4 and set(receiver.attempts) == {f"ev-{A}-0000"}  # order kept: no skip
    time.sleep(1.0)
    assert len(receiver.attempts) == attempts, "a disabled webhook is not called"

    receiver.always_fail = False
    r = client.post(f"{url}/enable", json={}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    wait_for(lambda: len(receiver.received) == 3, timeout_s=30, what="3 deliveries")
    assert [i["event_id"] for i in receiver.received] == [f"ev-{A}-{i:04d}" for i in range(3)]


def test_unreachable_receiver_reason_names_the_error(api: tuple) -> None:
    client, bus, settings = api
    headers = token(settings, Role.DISTRICT_ADMIN, district="3204")
    hook = subscribe(client, headers, "http://127.0.0.1:9/nothing-listens-here")
    assert hook["village_codes"] == [] and hook["district_code"] == "3204"
    bus.publish(as_messages(harvests(B, 1)))
    url = f"/agriculture/webhooks/{hook['webhook_id']}"
    wait_for(
        lambda: client.get(url, headers=headers).json()["status"] == "disabled",
        timeout_s=30,
        what="the webhook to be disabled",
    )
    reason = client.get(url, headers=headers).json()["disabled_reason"]
    assert reason.startswith("4 consecutive failed deliveries; last: URLError")
    assert "refused" in reason.lower()


def test_scope_and_bad_input(api: tuple, receiver: Receiver) -> None:
    client, _bus, settings = api
    a_token = token(settings, Role.VILLAGE_OPERATOR, villages=[A])
    b_token = token(settings, Role.VILLAGE_OPERATOR, villages=[B])
    hook = subscribe(client, a_token, receiver.url)
    url = f"/agriculture/webhooks/{hook['webhook_id']}"
    assert client.get(url, headers=b_token).status_code == 403
    assert client.delete(url, headers=b_token).status_code == 403
    assert client.get("/agriculture/webhooks", headers=b_token).json() == []
    viewer = token(settings, Role.VIEWER, villages=[A])
    assert (
        client.post("/agriculture/webhooks", json={"url": receiver.url}, headers=viewer).status_code
        == 403
    )
    for bad in ("ftp://example.org/x", "not a url", "javascript:alert(1)"):
        r = client.post("/agriculture/webhooks", json={"url": bad}, headers=a_token)
        assert r.status_code == 422 and "url" in r.json()["detail"], bad
    r = client.post(
        "/agriculture/webhooks", json={"url": receiver.url, "village_codes": [B]}, headers=a_token
    )
    assert r.status_code == 403
    gone = client.delete(url, headers=a_token)
    assert gone.status_code == 200 and gone.json()["status"] == "deleted"
    assert client.get(url, headers=a_token).json()["status"] == "deleted"
    assert client.delete(url, headers=a_token).status_code == 404
    assert client.post(f"{url}/enable", json={}, headers=a_token).status_code == 404
    assert client.get("/agriculture/webhooks", headers=a_token).json() == []


# two dispatchers on one store (a second one started by mistake) -------------------------
def _store_with_hook(tmp_path: Path, n: int) -> tuple[SqliteStore, PiiVault, dict[str, Any]]:
    store = SqliteStore(tmp_path / "two.sqlite3")
    store.ensure(WEBHOOK_COLLECTIONS + FEED_COLLECTIONS)
    for i in range(1, n + 1):
        store.put_if_absent(
            FEED,
            {
                "_id": seq_id(i),
                "seq": i,
                "event_id": f"ev-{i}",
                "type": "t",
                "village_code": A,
                "district_code": A[:4],
            },
        )
    vault = PiiVault("k" * 40)
    hook = {
        "_id": "wh-1",
        "webhook_id": "wh-1",
        "url": "http://receiver.invalid/hook",
        "district_code": A[:4],
        "district_code_scope": None,
        "village_codes": [A],
        "status": "active",
        "position": 0,
        "delivered": 0,
        "failures": 0,
        "next_attempt_at": 0,
        "secret_sealed": vault.seal("whsec_x"),
    }
    store.put_if_absent(WEBHOOKS, hook)
    return store, vault, hook


def test_a_second_dispatcher_reading_the_same_state_sends_nothing_twice(tmp_path: Path) -> None:
    store, vault, _ = _store_with_hook(tmp_path, 5)
    posted: list[str] = []
    snapshot = store.get(WEBHOOKS, "wh-1")
    assert snapshot is not None

    def second_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        posted.append(headers[EVENT_ID_HEADER])
        return Outcome(True)

    second = WebhookDispatcher(
        store, vault, max_failures=3, backoff_s=1, backoff_max_s=1, timeout_s=1, post=second_post
    )

    def first_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        posted.append(headers[EVENT_ID_HEADER])
        if len(posted) == 1:  # meanwhile the second dispatcher works from the state both read
            second._deliver(dict(snapshot))
        return Outcome(True)

    first = WebhookDispatcher(
        store, vault, max_failures=3, backoff_s=1, backoff_max_s=1, timeout_s=1, post=first_post
    )
    first._deliver(dict(snapshot))
    assert posted == [f"ev-{i}" for i in range(1, 6)], "each entry once, in order"
    state = store.get(WEBHOOKS, "wh-1")
    assert state is not None and state["position"] == 5 and state["delivered"] == 5


def test_the_position_advances_only_from_the_position_read(tmp_path: Path) -> None:
    store, vault, _ = _store_with_hook(tmp_path, 3)
    sent: list[str] = []

    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        sent.append(headers[EVENT_ID_HEADER])
        return Outcome(True)

    dispatcher = WebhookDispatcher(
        store, vault, max_failures=3, backoff_s=1, backoff_max_s=1, timeout_s=1, post=post
    )
    stale = store.get(WEBHOOKS, "wh-1")
    assert stale is not None
    assert dispatcher.run_once() == 3
    assert store.get(WEBHOOKS, "wh-1")["position"] == 3  # type: ignore[index]
    # a dispatcher still holding the state read before the round cannot move it back
    assert not dispatcher._set(dict(stale), position=1)
    assert not WebhookDispatcher(
        store, vault, max_failures=3, backoff_s=1, backoff_max_s=1, timeout_s=1, post=post
    )._set(dict(stale), position=1)
    assert store.get(WEBHOOKS, "wh-1")["position"] == 3  # type: ignore[index]
    assert sent == ["ev-1", "ev-2", "ev-3"]


def test_a_slow_receiver_gets_a_bounded_round_and_does_not_hold_up_the_others(
    tmp_path: Path,
) -> None:
    store, vault, hook = _store_with_hook(tmp_path, 20)
    slow_url, fast_url = "http://slow.invalid/hook", "http://fast.invalid/hook"
    store.update(WEBHOOKS, "wh-1", set_fields={"url": slow_url}, command_id="slow")
    store.put_if_absent(WEBHOOKS, {**hook, "_id": "wh-2", "webhook_id": "wh-2", "url": fast_url})
    got: dict[str, list[str]] = {slow_url: [], fast_url: []}

    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        if url == slow_url:
            time.sleep(0.25)
        got[url].append(headers[EVENT_ID_HEADER])
        return Outcome(True)

    # one round: the slow subscription (first in id order) yields after its budget
    background = WebhookDispatcher(
        store, vault, max_failures=3, backoff_s=1, backoff_max_s=1, timeout_s=1,
        interval_s=0.05, round_budget_s=0.6, post=post,
    )  # fmt: skip
    assert background.run_once() == len(got[slow_url]) + 20
    assert 1 <= len(got[slow_url]) <= 4 and len(got[fast_url]) == 20

    # in the background, the fast subscription is served while the slow one is still busy
    store.update(WEBHOOKS, "wh-2", set_fields={"position": 0}, command_id="rewind")
    got[fast_url].clear()
    background.start()  # the same one: it holds both subscriptions' leases
    try:
        wait_for(lambda: len(got[fast_url]) == 20, timeout_s=3, what="the fast receiver")
        assert len(got[slow_url]) < 12
        wait_for(lambda: len(got[slow_url]) == 20, timeout_s=15, what="the slow receiver")
    finally:
        background.stop()
    assert got[slow_url] == [f"ev-{i}" for i in range(1, 21)]


def test_free_text_recommendation_reaches_neither_the_feed_nor_webhooks(
    api: tuple, receiver: Receiver
) -> None:
    client, bus, settings = api
    headers = token(settings, Role.EXTENSION_WORKER, villages=[A])
    hook = subscribe(client, headers, receiver.url)
    receiver.secret = hook["secret"]
    visit = build_event(
        ev.ExtensionVisitRecorded(
            occurred_on=date(2026, 3, 2),
            household_id="hh-1",
            extension_worker_id="ppl-1",
            topic="pemupukan",
            recommendation="Pak Asep Suryana sebaiknya memupuk ulang minggu depan",
            source_system="simluhtan",
        ),
        village_code=A,
        subject="hh-1",
        event_id="ev-visit-1",
    )
    bus.publish(as_messages([visit]))
    wait_for(lambda: len(receiver.received) == 1, timeout_s=30, what="the visit")
    (posted,) = receiver.received
    (served,) = client.get("/agriculture/feed", headers=headers).json()["items"]
    for item in (posted, served):
        assert item["type"] == "lumbung.agriculture.extension_visit_recorded.v1"
        assert item["data"]["topic"] == "pemupukan" and "recommendation" not in item["data"]
        assert "Asep" not in json.dumps(item)
    document = json.loads(ASYNCAPI.read_text(encoding="utf-8"))
    note = document["components"]["messages"]["agriculture.extension_visit_recorded"]
    assert "must not use it for names" in note["description"]
    assert "leave recommendation out" in note["description"]
