"""Training over HTTP: who sees a multi-village programme, enrolments, facts, roles, privacy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.catalog import SERVICES
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.http import create_app
from shared.ports import store as store_port
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import DISTRICT, OTHER_VILLAGE, VILLAGE, token

THIRD_VILLAGE = "3204052003"
HH = "hh-3204052001-0042"
HH2 = "hh-3204052002-0007"
PROGRAM = {
    "title": "Pelatihan Pemasaran Digital UMKM",
    "organizer": "Dinas Koperasi dan UMKM Kabupaten Bandung",
    "village_codes": [VILLAGE, OTHER_VILLAGE],
    "start_on": "2025-07-01",
    "end_on": "2025-09-30",
    "topics": ["foto produk", "berjualan di marketplace"],
}


@pytest.fixture
def client(tmp_path: Path, settings: Settings) -> Iterator[TestClient]:
    """Every service in one app on SQLite with the relay off, so the outbox can be read."""
    runtime = bootstrap(
        settings,
        list(SERVICES.values()),
        label="t",
        store=SqliteStore(tmp_path / "s.sqlite3"),
        bus=InProcessBus(tmp_path / "b.sqlite3"),
    )
    with TestClient(create_app(runtime, title="t", background=False)) as c:
        yield c


def operator(settings: Settings, *villages: str) -> dict[str, str]:
    return token(settings, Role.VILLAGE_OPERATOR, villages=list(villages))


def new_program(client: TestClient, headers: dict[str, str], **changes: Any) -> str:
    r = client.post("/training/programs", json={**PROGRAM, **changes}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["program_id"]


def enrol(
    client: TestClient,
    headers: dict[str, str],
    program_id: str,
    household_id: str = HH,
    village_code: str = VILLAGE,
    **extra: Any,
) -> Any:
    body = {"household_id": household_id, "village_code": village_code, **extra}
    return client.post(f"/training/programs/{program_id}/enrolments", json=body, headers=headers)


def created(r: Any) -> bool:
    assert r.status_code == 201, r.text
    return True


def fact(
    client: TestClient, headers: dict[str, str], program_id: str, path: str, **body: Any
) -> Any:
    full = {"household_id": HH, "village_code": VILLAGE, **body}
    return client.post(f"/training/programs/{program_id}/{path}", json=full, headers=headers)


def outbox(client: TestClient, event_type: str) -> list[dict]:
    store = client.app.state.runtime.store
    return [
        e for entry in store.outbox_pending(10_000) for e in entry.events if e["type"] == event_type
    ]


def program_ids(client: TestClient, headers: dict[str, str], query: str = "") -> list[str]:
    r = client.get(f"/training/programs{query}", headers=headers)
    assert r.status_code == 200, r.text
    return [p["program_id"] for p in r.json()["items"]]


# programmes ---------------------------------------------------------------------------------
def test_a_programme_is_visible_to_every_village_it_runs_in_and_no_other(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    pid = new_program(client, admin)
    for village in (VILLAGE, OTHER_VILLAGE):
        headers = operator(settings, village)
        assert program_ids(client, headers) == [pid]
        got = client.get(f"/training/programs/{pid}", headers=headers)
        assert got.status_code == 200
        assert got.json()["village_codes"] == [VILLAGE, OTHER_VILLAGE]
    outsider = operator(settings, THIRD_VILLAGE)
    assert program_ids(client, outsider) == []
    refused = client.get(f"/training/programs/{pid}", headers=outsider)
    assert refused.status_code == 403
    assert "Pemasaran" not in refused.text
    assert client.get("/training/programs/prog-missing", headers=admin).status_code == 404


def test_the_programme_event_belongs_to_its_first_village(
    client: TestClient, admin: dict[str, str]
) -> None:
    pid = new_program(client, admin, village_codes=[OTHER_VILLAGE, VILLAGE])
    (event,) = outbox(client, "lumbung.training.program_created.v1")
    assert event["villagecode"] == OTHER_VILLAGE
    assert event["data"]["village_codes"] == [OTHER_VILLAGE, VILLAGE]
    stored = client.get(f"/training/programs/{pid}", headers=admin).json()
    assert stored["village_code"] == OTHER_VILLAGE and stored["district_code"] == DISTRICT


def test_programme_list_filters_by_any_of_its_villages(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    only_first = new_program(client, admin, village_codes=[VILLAGE])
    only_second = new_program(client, admin, village_codes=[OTHER_VILLAGE])
    both = new_program(client, admin, village_codes=[OTHER_VILLAGE, VILLAGE])
    assert set(program_ids(client, admin, f"?village_code={VILLAGE}")) == {only_first, both}
    assert set(program_ids(client, admin, f"?village_code={OTHER_VILLAGE}")) == {
        only_second,
        both,
    }
    assert set(program_ids(client, admin)) == {only_first, only_second, both}
    mine = operator(settings, VILLAGE)
    assert set(program_ids(client, mine)) == {only_first, both}
    r = client.get(f"/training/programs?village_code={OTHER_VILLAGE}", headers=mine)
    assert r.status_code == 403


@pytest.mark.parametrize("scan_batch", [2, 500])
def test_programme_pages_skip_other_villages_without_losing_or_repeating_any(
    client: TestClient,
    admin: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    scan_batch: int,
) -> None:
    # A small scan batch makes the walk cross store pages inside one answer page.
    monkeypatch.setattr(store_port, "SCAN_PAGE", scan_batch)
    mine = []
    for n in range(12):
        villages = [VILLAGE] if n % 3 == 0 else [OTHER_VILLAGE]
        pid = new_program(client, admin, program_id=f"prog-{n:02d}", village_codes=villages)
        if n % 3 == 0:
            mine.append(pid)
    headers = operator(settings, VILLAGE)
    pages: list[list[str]] = []
    cursor = ""
    for _ in range(10):
        r = client.get(f"/training/programs?limit=2{cursor}", headers=headers).json()
        pages.append([p["program_id"] for p in r["items"]])
        if r["next_cursor"] is None:
            break
        cursor = f"&cursor={r['next_cursor']}"
    # The last page says it is the last: no empty page after it.
    assert pages == [["prog-00", "prog-03"], ["prog-06", "prog-09"]]
    assert mine == ["prog-00", "prog-03", "prog-06", "prog-09"]
    assert client.get("/training/programs?cursor=%%%", headers=headers).status_code == 422


def test_a_village_operator_creates_programmes_only_in_their_own_villages(
    client: TestClient, settings: Settings
) -> None:
    mine = operator(settings, VILLAGE)
    spanning = client.post("/training/programs", json=PROGRAM, headers=mine)
    assert spanning.status_code == 403
    assert new_program(client, mine, village_codes=[VILLAGE])
    assert len(outbox(client, "lumbung.training.program_created.v1")) == 1


def test_a_client_chosen_programme_id_reused_is_409(
    client: TestClient, admin: dict[str, str]
) -> None:
    new_program(client, admin, program_id="dinkop-2025-07")
    r = client.post(
        "/training/programs", json={**PROGRAM, "program_id": "dinkop-2025-07"}, headers=admin
    )
    assert r.status_code == 409


# roles --------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXTENSION_WORKER])
def test_viewers_and_extension_workers_read_but_do_not_write_training(
    client: TestClient, admin: dict[str, str], settings: Settings, role: Role
) -> None:
    pid = new_program(client, admin)
    assert created(enrol(client, admin, pid))
    headers = token(settings, role, villages=[VILLAGE])
    assert program_ids(client, headers) == [pid]
    assert client.get(f"/training/programs/{pid}/enrolments", headers=headers).status_code == 200
    refused = [
        client.post("/training/programs", json=PROGRAM, headers=headers),
        enrol(client, headers, pid, household_id=HH2),
        fact(client, headers, pid, "attendance", occurred_on="2025-07-08"),
        fact(client, headers, pid, "confidence", score=3, occurred_on="2025-07-08"),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert len(outbox(client, "lumbung.training.attendance_recorded.v1")) == 0


# enrolments ---------------------------------------------------------------------------------
def test_enrolling_the_same_household_twice_is_409_unless_it_is_a_keyed_retry(
    client: TestClient, admin: dict[str, str]
) -> None:
    pid = new_program(client, admin)
    keyed = {**admin, "Idempotency-Key": "enrol-hh-42"}
    first = enrol(client, keyed, pid)
    retry = enrol(client, keyed, pid)
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert first.json()["enrolment_id"] == f"{pid}/{HH}"
    again = enrol(client, admin, pid)
    assert again.status_code == 409
    other_key = enrol(client, {**admin, "Idempotency-Key": "enrol-hh-42-b"}, pid)
    assert other_key.status_code == 409
    assert len(outbox(client, "lumbung.training.participant_enrolled.v1")) == 1
    # The same household may still join another programme.
    assert enrol(client, admin, new_program(client, admin)).status_code == 201


def test_enrolment_into_an_unknown_programme_is_404(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert enrol(client, admin, "prog-missing").status_code == 404


def test_participant_name_is_shown_on_reads_but_never_in_events_answers_or_at_rest(
    embedded: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    name = "Ibu Euis Rahmawati"
    pid = new_program(embedded, admin)
    # With a key the answer is kept for replays: it must not hold the name either.
    r = enrol(embedded, {**admin, "Idempotency-Key": "k1"}, pid, participant_name=name)
    assert r.status_code == 201
    assert name not in r.text and "sealed" not in r.text
    one = embedded.get(f"/training/programs/{pid}/enrolments/{HH}", headers=admin).json()
    assert one["participant_name"] == name
    listed = embedded.get(f"/training/programs/{pid}/enrolments", headers=admin).json()
    assert listed["items"][0]["participant_name"] == name
    time.sleep(0.5)
    embedded.app.state.runtime.relay.drain()
    raw = b"".join(p.read_bytes() for p in settings.data_dir.glob("*.sqlite3*"))
    assert HH.encode() in raw
    assert name.encode() not in raw


def test_a_village_operator_sees_only_their_own_villages_trainees(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    pid = new_program(client, admin)
    assert created(enrol(client, admin, pid, HH, VILLAGE))
    assert created(enrol(client, admin, pid, HH2, OTHER_VILLAGE))
    path = f"/training/programs/{pid}/enrolments"
    mine = operator(settings, VILLAGE)

    def households(headers: dict[str, str], query: str = "") -> set[str]:
        r = client.get(f"{path}{query}", headers=headers)
        assert r.status_code == 200, r.text
        return {e["household_id"] for e in r.json()["items"]}

    assert households(admin) == {HH, HH2}
    assert households(admin, f"?village_code={OTHER_VILLAGE}") == {HH2}
    assert households(mine) == {HH}
    assert client.get(f"{path}?village_code={OTHER_VILLAGE}", headers=mine).status_code == 403
    foreign = client.get(f"{path}/{HH2}", headers=mine)
    assert foreign.status_code == 403 and HH2 not in foreign.text
    assert client.get(f"{path}/{HH}", headers=mine).json()["village_code"] == VILLAGE
    assert client.get(f"{path}/hh-never-enrolled", headers=mine).status_code == 404
    outsider = operator(settings, THIRD_VILLAGE)
    assert client.get(path, headers=outsider).status_code == 403


def test_enrolments_page_with_a_cursor(client: TestClient, admin: dict[str, str]) -> None:
    pid = new_program(client, admin)
    for n in range(5):
        assert created(enrol(client, admin, pid, household_id=f"hh-{n}"))
    path = f"/training/programs/{pid}/enrolments?limit=2"
    first = client.get(path, headers=admin).json()
    second = client.get(f"{path}&cursor={first['next_cursor']}", headers=admin).json()
    third = client.get(f"{path}&cursor={second['next_cursor']}", headers=admin).json()
    ids = [e["household_id"] for page in (first, second, third) for e in page["items"]]
    assert ids == [f"hh-{n}" for n in range(5)] and third["next_cursor"] is None


def test_every_programme_a_household_joined_is_listed_by_household(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    joined = [new_program(client, admin), new_program(client, admin)]
    skipped = new_program(client, admin)
    for pid in joined:
        assert created(enrol(client, admin, pid))
    assert created(enrol(client, admin, skipped, HH2, OTHER_VILLAGE))
    r = client.get(f"/training/enrolments?household_id={HH}", headers=admin).json()
    assert sorted(e["program_id"] for e in r["items"]) == sorted(joined)
    other = operator(settings, OTHER_VILLAGE)
    assert client.get(f"/training/enrolments?household_id={HH}", headers=other).json() == {
        "items": [],
        "next_cursor": None,
    }


# facts of an enrolment ----------------------------------------------------------------------
def test_the_recorded_facts_of_one_enrolment_are_listed_and_filtered_by_kind(
    client: TestClient, admin: dict[str, str]
) -> None:
    pid = new_program(client, admin)
    assert created(enrol(client, admin, pid))
    assert created(enrol(client, admin, pid, HH2, OTHER_VILLAGE))
    written = [
        fact(client, admin, pid, "assessments", kind="pre", score=40, max_score=100,
             occurred_on="2025-07-01"),
        fact(client, admin, pid, "attendance", occurred_on="2025-07-08"),
        fact(client, admin, pid, "assessments", kind="post", score=100, max_score=100,
             occurred_on="2025-09-30"),
        fact(client, admin, pid, "confidence", score=4, occurred_on="2025-10-15"),
        fact(client, admin, pid, "mentoring", mentor="Pendamping PLUT", occurred_on="2025-11-03"),
        fact(client, admin, pid, "attendance", household_id=HH2, village_code=OTHER_VILLAGE,
             occurred_on="2025-07-08"),
    ]  # fmt: skip
    assert [r.status_code for r in written] == [201] * 6
    path = f"/training/programs/{pid}/enrolments/{HH}/facts"
    items = client.get(path, headers=admin).json()["items"]
    assert sorted(i["fact"] for i in items) == [
        "assessment",
        "assessment",
        "attendance",
        "confidence",
        "mentoring_visit",
    ]
    assert {i["fact_id"] for i in items} == {r.json()["fact_id"] for r in written[:5]}
    attendance = next(i for i in items if i["fact"] == "attendance")
    assert "score" not in attendance and attendance["occurred_on"] == "2025-07-08"
    tests = client.get(f"{path}?fact=assessment", headers=admin).json()["items"]
    assert sorted((t["kind"], t["score"]) for t in tests) == [("post", 100), ("pre", 40)]
    assert client.get(f"{path}?fact=gossip", headers=admin).status_code == 422


def test_facts_of_another_villages_enrolment_are_refused(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    pid = new_program(client, admin)
    assert created(enrol(client, admin, pid))
    fact(client, admin, pid, "confidence", score=2, occurred_on="2025-07-02")
    other = operator(settings, OTHER_VILLAGE)
    read = client.get(f"/training/programs/{pid}/enrolments/{HH}/facts", headers=other)
    assert read.status_code == 403 and "score" not in read.text
    write = fact(client, other, pid, "confidence", score=5, occurred_on="2025-07-03")
    assert write.status_code == 403
    assert len(outbox(client, "lumbung.training.confidence_recorded.v1")) == 1


def test_fact_answer_carries_the_event_fields_and_the_event_the_enrolments_village(
    client: TestClient, admin: dict[str, str]
) -> None:
    pid = new_program(client, admin)
    assert created(enrol(client, admin, pid, HH2, OTHER_VILLAGE))
    r = fact(
        client,
        admin,
        pid,
        "assessments",
        household_id=HH2,
        village_code=OTHER_VILLAGE,
        kind="pre",
        score=7.5,
        max_score=10,
        occurred_on="2025-07-01",
    )
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["fact_id"] and answer["enrolment_id"] == f"{pid}/{HH2}"
    assert (answer["program_id"], answer["household_id"]) == (pid, HH2)
    assert (answer["kind"], answer["score"], answer["max_score"]) == ("pre", 7.5, 10)
    (event,) = outbox(client, "lumbung.training.assessment_recorded.v1")
    assert event["villagecode"] == OTHER_VILLAGE and event["subject"] == HH2
    assert event["data"] == {
        "occurred_on": "2025-07-01",
        "program_id": pid,
        "household_id": HH2,
        "kind": "pre",
        "score": 7.5,
        "max_score": 10.0,
    }


def test_a_full_score_is_accepted_and_one_point_more_is_not(
    client: TestClient, admin: dict[str, str]
) -> None:
    pid = new_program(client, admin)
    assert created(enrol(client, admin, pid))
    body = {"kind": "post", "max_score": 20, "occurred_on": "2025-09-30"}
    assert fact(client, admin, pid, "assessments", score=20, **body).status_code == 201
    over = fact(client, admin, pid, "assessments", score=20.5, **body)
    assert over.status_code == 422
    assert over.json()["errors"][0]["loc"] == ["body", "score"]


def test_attendance_defaults_to_today_which_must_be_within_the_programme(
    client: TestClient, admin: dict[str, str]
) -> None:
    today = date.today()
    past = new_program(client, admin)
    running = new_program(
        client,
        admin,
        start_on=(today - timedelta(days=3)).isoformat(),
        end_on=(today + timedelta(days=3)).isoformat(),
    )
    for pid in (past, running):
        assert created(enrol(client, admin, pid))
    late = fact(client, admin, past, "attendance")
    assert late.status_code == 422 and "occurred_on" in late.json()["detail"]
    on_time = fact(client, admin, running, "attendance")
    assert on_time.status_code == 201
    assert on_time.json()["occurred_on"] == today.isoformat()
    # Follow-up facts come after the programme and are not bound to its dates.
    assert fact(client, admin, past, "confidence", score=3).status_code == 201


def test_facts_for_unknown_programmes_are_404(client: TestClient, admin: dict[str, str]) -> None:
    r = fact(client, admin, "prog-missing", "mentoring", mentor="Pak Dedi")
    assert r.status_code == 404
    missing = client.get(f"/training/programs/prog-missing/enrolments/{HH}/facts", headers=admin)
    assert missing.status_code == 404
