"""The demo district generator: reproducible, plausible, valid for the routes, streaming."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from services.agriculture import models as agri
from services.commerce import models as com
from services.livestock import models as live
from services.registry import models as reg
from services.training import models as tr
from shared.demo import (
    PROGRAM_ORGANIZER,
    PROGRAM_TITLE,
    Command,
    DemoConfig,
    generate,
    plan_villages,
    program_id,
    to_events,
)
from shared.demo.seed import demo_token, seed_embedded
from shared.events.catalogue import decode_event
from shared.settings import Settings

TODAY = date(2026, 11, 28)
DEFAULT = DemoConfig(seed=1, today=TODAY)
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "village_registered": reg.VillageCreate,
    "household_registered": reg.HouseholdCreate,
    "household_updated": reg.HouseholdUpdate,
    "program_created": tr.ProgramCreate,
    "participant_enrolled": tr.EnrolmentCreate,
    "attendance_recorded": tr.AttendanceCreate,
    "assessment_recorded": tr.AssessmentCreate,
    "confidence_recorded": tr.ConfidenceCreate,
    "mentoring_visit_recorded": tr.MentoringCreate,
    "business_registered": com.BusinessCreate,
    "product_listed": com.ProductCreate,
    "channel_opened": com.ChannelCreate,
    "sale_recorded": com.SaleCreate,
    "capital_received": com.CapitalCreate,
    "plot_registered": agri.PlotCreate,
    "crop_planted": agri.PlantingCreate,
    "harvest_recorded": agri.HarvestCreate,
    "produce_sold": agri.SaleCreate,
    "green_practice_adopted": agri.PracticeCreate,
    "input_applied": agri.InputCreate,
    "crop_loss_reported": agri.LossCreate,
    "extension_visit_recorded": agri.ExtensionVisitCreate,
    "herd_registered": live.HerdCreate,
    "animals_born": live.BirthCreate,
    "animals_died": live.DeathCreate,
    "vaccination_recorded": live.VaccinationCreate,
    "disease_reported": live.DiseaseReportCreate,
    "livestock_sold": live.SaleCreate,
    "manure_composted": live.CompostCreate,
}


@pytest.fixture(scope="module")
def stream() -> list[Command]:
    return list(generate(DEFAULT))


def _day(command: Command) -> date:
    return date.fromisoformat(command.body["occurred_on"])


def _facts(stream: list[Command], event: str) -> list[Command]:
    return [c for c in stream if c.event == event]


def _wire(command: Command) -> tuple[object, ...]:
    return (command.method, command.path, json.dumps(command.body, sort_keys=True), command.key)


# reproducibility ----------------------------------------------------------------------------
def test_same_seed_gives_the_same_command_stream() -> None:
    config = DemoConfig(seed=7, households=80, villages=5, today=TODAY)
    assert [_wire(c) for c in generate(config)] == [_wire(c) for c in generate(config)]


def test_another_seed_gives_other_households_in_the_same_villages() -> None:
    first = list(generate(DemoConfig(seed=7, households=80, villages=5, today=TODAY)))
    second = list(generate(DemoConfig(seed=8, households=80, villages=5, today=TODAY)))
    assert [_wire(c) for c in first] != [_wire(c) for c in second]
    villages = [c for c in first if c.event == "village_registered"]
    assert villages == [c for c in second if c.event == "village_registered"]
    ids = {c.body.get("household_id") for c in first} - {None}
    assert ids.isdisjoint({c.body.get("household_id") for c in second})


def test_a_later_today_only_adds_commands_except_last_months_follow_up() -> None:
    """Re-seeding a month later keeps every earlier command (same Idempotency-Key), but for
    what is anchored to 'last month' on purpose: mentoring and the returning trainee."""
    config = DemoConfig(seed=3, households=150, villages=5, today=date(2026, 10, 15))
    before = {c.key: c for c in generate(config)}
    after = {c.key for c in generate(DemoConfig(seed=3, households=150, villages=5, today=TODAY))}
    moved = Counter(before[k].event for k in before.keys() - after)
    assert set(moved) <= {
        "mentoring_visit_recorded",
        "confidence_recorded",
        "channel_opened",
        "sale_recorded",
    }
    assert sum(moved.values()) < 0.01 * len(before)


def test_keys_are_unique_and_short_enough_for_the_api(stream: list[Command]) -> None:
    keys = [c.key for c in stream]
    assert len(keys) == len(set(keys))
    assert all(len(k) <= 100 for k in keys)


# what the district holds ----------------------------------------------------------------------
def test_district_is_fictional_with_at_least_five_villages_and_500_households(
    stream: list[Command],
) -> None:
    villages = _facts(stream, "village_registered")
    assert len(villages) >= 5
    assert all(v.body["village_code"].startswith("9901") for v in villages)
    assert {v.body["district_code"] for v in villages} == {"9901"}
    assert all(c.village_code.startswith("99") for c in stream)
    assert len(_facts(stream, "household_registered")) >= 500


def test_every_sector_has_history(stream: list[Command]) -> None:
    by_service = Counter(c.service for c in stream)
    for service in ("registry", "training", "commerce", "agriculture", "livestock"):
        assert by_service[service] > 0
    for event in REQUEST_MODELS:
        assert _facts(stream, event), f"no {event}"


def test_the_training_of_29_september_2023_by_the_digital_community(
    stream: list[Command],
) -> None:
    [programme] = _facts(stream, "program_created")
    assert (
        programme.body["title"]
        == PROGRAM_TITLE
        == ("Pelatihan Media Sosial untuk Ketahanan Ekonomi Keluarga")
    )
    assert programme.body["organizer"] == PROGRAM_ORGANIZER == "Ruang Komunitas Digital Desa"
    assert programme.body["start_on"] == programme.body["end_on"] == "2023-09-29"
    enrolled = _facts(stream, "participant_enrolled")
    assert 40 <= len(enrolled) <= 60
    assert {c.village_code for c in enrolled} == set(programme.body["village_codes"])
    kinds = Counter(c.body["kind"] for c in _facts(stream, "assessment_recorded"))
    assert kinds["pre"] == kinds["post"] > 0


def test_history_starts_six_months_before_the_training_and_ends_today(
    stream: list[Command],
) -> None:
    facts = [c for c in stream if c.service != "registry" and "occurred_on" in c.body]
    assert min(_day(c) for c in facts) <= date(2023, 3, 29)
    assert max(_day(c) for c in stream if "occurred_on" in c.body) <= TODAY
    months = {_day(c).strftime("%Y-%m") for c in facts}
    assert {"2023-03", "2023-09", "2024-06", TODAY.strftime("%Y-%m")} <= months


def test_a_flood_hits_one_village_in_one_month(stream: list[Command]) -> None:
    floods = [c for c in _facts(stream, "crop_loss_reported") if c.body["cause"] == "flood"]
    assert len(floods) >= 10
    assert len({c.village_code for c in floods}) == 1
    assert {_day(c).strftime("%Y-%m") for c in floods} == {"2024-01"}


def test_a_cattle_disease_outbreak_with_deaths(stream: list[Command]) -> None:
    reports = _facts(stream, "disease_reported")
    assert reports
    assert all(c.refs["species"] == "cattle" for c in reports)
    assert len({c.village_code for c in reports}) == 1
    deaths = [c for c in _facts(stream, "animals_died") if c.body["cause"] == "disease"]
    assert deaths
    assert {c.village_code for c in deaths} == {c.village_code for c in reports}


def test_green_practices_spread_over_time(stream: list[Command]) -> None:
    adopted = Counter(_day(c).year for c in _facts(stream, "green_practice_adopted"))
    assert adopted[2023] < adopted[2024] < adopted[2025]
    inputs = _facts(stream, "input_applied")
    organic = defaultdict(list)
    for c in inputs:
        organic[_day(c).year].append(c.body["input_type"] == "organic_fertilizer")
    assert sum(organic[2023]) / len(organic[2023]) < sum(organic[2026]) / len(organic[2026])


def test_villages_lean_on_different_sectors(stream: list[Command]) -> None:
    villages = {v.code: v.archetype for v in plan_villages(DEFAULT)}
    assert {"farming", "livestock", "umkm", "mixed"} <= set(villages.values())

    def per_household(event: str, archetype: str) -> float:
        codes = {code for code, kind in villages.items() if kind == archetype}
        homes = sum(1 for c in _facts(stream, "household_registered") if c.village_code in codes)
        return sum(1 for c in _facts(stream, event) if c.village_code in codes) / homes

    assert per_household("produce_sold", "farming") > per_household("produce_sold", "umkm")
    assert per_household("livestock_sold", "livestock") > per_household("livestock_sold", "umkm")
    assert per_household("sale_recorded", "umkm") > per_household("sale_recorded", "farming")


def test_every_body_is_valid_for_its_route(stream: list[Command]) -> None:
    for command in stream:
        REQUEST_MODELS[command.event].model_validate(command.body)


def test_commands_come_after_what_they_depend_on(stream: list[Command]) -> None:
    creates = {"household_id", "business_id", "plot_id", "herd_id", "program_id", "product_id"}
    made: set[str] = set()
    for command in stream:
        needed = [v for k, v in command.refs.items() if k != "species"]
        if command.event == "sale_recorded" and "product_id" in command.body:
            needed.append(command.body["product_id"])
        assert all(ref in made for ref in needed), command
        if command.event.endswith(("_registered", "_created", "_listed")):
            made.update(v for k, v in command.body.items() if k in creates)


# settings the generator refuses ------------------------------------------------------------
@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        (
            {"villages": 0},
            "jumlah desa harus antara 1 dan 2475. (villages must be between 1 and 2475)",
        ),
        (
            {"villages": 2476, "households": 5000},
            "jumlah desa harus antara 1 dan 2475. (villages must be between 1 and 2475)",
        ),
        (
            {"villages": 5, "households": 3},
            "setiap desa memerlukan paling sedikit satu rumah tangga. "
            "(need at least one household per village)",
        ),
        (
            {"today": date(2023, 9, 30)},
            "hari terakhir riwayat (today) harus sesudah bulan pelatihan (2023-09). "
            "(today must be after the training month (2023-09))",
        ),
        (
            {"today": date.today() + timedelta(days=1)},
            "hari terakhir riwayat (today) tidak boleh di masa depan (API menolak tanggal yang "
            "akan datang). (today must not be in the future (the API refuses future days))",
        ),
    ],
)
def test_impossible_settings_are_refused_in_indonesian_and_english(
    sizes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        DemoConfig(**{"today": TODAY, **sizes})  # type: ignore[arg-type]
    assert str(refused.value) == message


# scale and the other output -------------------------------------------------------------------
def test_large_districts_stream_lazily_in_bounded_memory() -> None:
    big = DemoConfig(seed=1, households=150_000, villages=300, today=TODAY)
    first = list(itertools.islice(generate(big), 2000))
    assert len(first) == 2000
    assert sum(c.event == "village_registered" for c in first) == 300
    tracemalloc.start()
    try:
        for _ in itertools.islice(generate(big), 8_000):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000


def test_the_stream_as_cloudevents_decodes_with_the_catalogue() -> None:
    commands = list(generate(DemoConfig(seed=2, households=30, villages=5, today=TODAY)))
    events = list(to_events(commands))
    assert len(events) == len(commands)
    assert len({e["id"] for e in events}) == len(events)
    for command, event in zip(commands, events, strict=True):
        envelope, _ = decode_event(json.dumps(event))
        assert envelope.villagecode == command.village_code
        assert envelope.type.split(".")[2] == command.event
        assert not {"head_name", "participant_name"} & set(event["data"])


# end to end ------------------------------------------------------------------------------------
def test_seeded_demo_shows_sustained_sellers_and_trainees_needing_follow_up(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from services.main import embedded_app
    from shared.adapters.inproc_bus import InProcessBus

    settings = Settings(data_dir=tmp_path / "data")
    config = DemoConfig(seed=5, households=40, villages=5)
    report = seed_embedded(settings, config)
    assert report.send.failed == 0, report.send.failures
    assert report.settled is not None
    assert report.settled.aggregated == report.send.written

    # The events the routes recorded are exactly what to_events makes of the same stream.
    bus = InProcessBus(settings.data_dir / "bus.sqlite3", partitions=settings.kafka_partitions)
    consumer = bus.consumer("test-compare", [f"lumbung.{s}.v1" for s in REQUEST_SERVICES])
    recorded = sorted(_comparable(json.loads(r.value)) for r in consumer.poll(100_000, 1.0))
    bus.close()
    made = sorted(_comparable(e) for e in to_events(generate(config)))
    assert recorded == made

    headers = {"Authorization": f"Bearer {demo_token(settings)}"}
    with TestClient(embedded_app(settings)) as client:
        answer = client.get(f"/resilience/programs/{program_id(5)}/participants", headers=headers)
        items = answer.json()["items"]
        district = client.get("/resilience/districts/9901", headers=headers).json()
    stages = Counter(item["stage"] for item in items)
    assert stages[4] >= 1
    assert any(item["needs_follow_up"] and item["stage"] < 4 for item in items)
    assert len(district["villages"]) == 5
    assert all(v["households_with_data"] > 0 for v in district["villages"])


REQUEST_SERVICES = ("registry", "training", "commerce", "agriculture", "livestock")


def _comparable(event: dict[str, object]) -> str:
    kept = {k: event[k] for k in ("type", "source", "subject", "villagecode", "data") if k in event}
    return json.dumps(kept, sort_keys=True)
