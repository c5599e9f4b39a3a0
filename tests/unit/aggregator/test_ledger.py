"""The per-household ledger: idempotent, order-independent folding of facts."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from services.aggregator.domain.ledger import (
    apply_event,
    apply_program,
    apply_village,
    businesses_with_sale,
    household_id_of,
    new_ledger,
    time_key,
)
from services.aggregator.domain.months import window
from services.aggregator.domain.rules import DEFAULT_RULES
from services.aggregator.domain.scoring import enrolment_statuses, score_household
from shared.events import catalogue as ev

from .builders import (
    HH,
    OTHER_VILLAGE,
    VILLAGE,
    assessed,
    attended,
    born,
    capital,
    confidence,
    crop_loss,
    died,
    enrolled,
    event,
    herd,
    inputs,
    ledger_of,
    livestock_sold,
    manure,
    mentored,
    plot,
    practice,
    produce,
    program_created,
    registered,
    sale,
    updated,
    village_registered,
)

T1 = "2026-03-01T08:00:00.000001Z"
T2 = "2026-03-01T09:00:00.000000Z"


def test_a_new_ledger_is_empty_json_data() -> None:
    ledger = new_ledger(HH)
    assert ledger["household_id"] == HH
    assert ledger["registered"] is False and ledger["village_code"] is None
    assert ledger["ids"] == [] and ledger["months"] == {} and ledger["first_data_on"] is None
    assert json.loads(json.dumps(ledger)) == ledger


def test_a_redelivered_event_changes_nothing() -> None:
    first = sale(250_000, "2026-03-10", channel="shopee")
    ledger = ledger_of([registered(4), first])
    before = copy.deepcopy(ledger)
    assert apply_event(ledger, *first) is False
    assert ledger == before
    assert ledger["months"]["2026-03"]["u"] == 250_000


def test_the_ledger_round_trips_through_json_and_keeps_folding() -> None:
    ledger = ledger_of([registered(4), sale(100, "2026-03-10", channel="shopee")])
    stored = json.loads(json.dumps(ledger))
    assert stored == ledger
    assert apply_event(stored, *sale(50, "2026-03-11", channel="tokopedia")) is True
    # 100 + 50 = 150, channels shopee and tokopedia kept sorted
    assert stored["months"]["2026-03"]["u"] == 150
    assert stored["months"]["2026-03"]["ch"] == ["shopee", "tokopedia"]


def test_facts_for_another_household_or_without_one_are_refused() -> None:
    ledger = new_ledger(HH)
    with pytest.raises(ValueError):
        apply_event(ledger, *sale(1, "2026-01-01", hh="hh-2"))
    with pytest.raises(ValueError):
        apply_event(ledger, *village_registered())
    with pytest.raises(ValueError):
        apply_event(ledger, *program_created())
    assert ledger == new_ledger(HH)


def test_household_id_of_names_the_household_of_a_fact() -> None:
    assert household_id_of(sale(1, "2026-01-01")[1]) == HH
    assert household_id_of(village_registered()[1]) is None


def test_sales_fold_into_their_month_by_sector_with_the_digital_part() -> None:
    ledger = ledger_of(
        [
            sale(100_000, "2026-03-01", channel="shopee", business="biz-1"),
            sale(40_000, "2026-03-31", channel="market", business="biz-2"),
            produce(70_000, "2026-03-15", channel="whatsapp"),
            livestock_sold(2_000_000, "2026-03-20", channel="middleman"),
            sale(5_000, "2026-04-01", channel="shopee"),
        ]
    )
    march = ledger["months"]["2026-03"]
    assert march["u"] == 140_000  # 100 000 + 40 000
    assert march["c"] == 70_000
    assert march["l"] == 2_000_000
    assert march["d"] == 170_000  # shopee 100 000 + whatsapp 70 000
    assert march["ch"] == ["shopee", "whatsapp"]
    assert march["b"] == ["biz-1", "biz-2"]
    assert ledger["dd"] == ["2026-03-01", "2026-03-15", "2026-04-01"]
    assert ledger["first_data_on"] == "2026-03-01"


def test_inputs_are_kept_in_whole_grams_so_sums_do_not_depend_on_order() -> None:
    ledger = ledger_of(
        [
            inputs("organic_fertilizer", 0.1, "2026-03-01"),
            inputs("biopesticide", 0.2, "2026-03-02"),
            inputs("chemical_pesticide", 1.5, "2026-03-03"),
        ]
    )
    # 0.1 kg + 0.2 kg = 300 g organic; 1.5 kg = 1500 g chemical
    assert ledger["months"]["2026-03"]["o"] == 300
    assert ledger["months"]["2026-03"]["x"] == 1500


def test_the_village_is_the_registrations_even_when_later_facts_name_another() -> None:
    ledger = ledger_of(
        [
            registered(3, on="2024-01-10", village=VILLAGE),
            sale(1, "2026-05-01", village=OTHER_VILLAGE),
        ]
    )
    assert ledger["village_code"] == VILLAGE and ledger["registered"] is True


def test_an_unregistered_household_takes_the_village_of_its_latest_fact() -> None:
    facts = [
        sale(1, "2026-05-01", village=VILLAGE, time=T2),  # same day, recorded later
        sale(1, "2026-05-01", village=OTHER_VILLAGE, time=T1),
        sale(1, "2026-04-01", village=OTHER_VILLAGE),  # an older day
    ]
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0], [2, 0, 1]):
        ledger = ledger_of([facts[i] for i in order])
        assert ledger["registered"] is False
        assert ledger["village_code"] == VILLAGE, order
    apply_event(ledger, *registered(2, village=OTHER_VILLAGE))
    assert ledger["village_code"] == OTHER_VILLAGE


def test_member_updates_are_ordered_by_the_day_they_happened_then_by_recording_time() -> None:
    ledger = ledger_of(
        [
            updated(6, "2026-03-01", time=T2),
            updated(5, "2026-03-01", time=T1),
            updated(2, "2026-01-01"),  # arrives last, happened first
        ]
    )
    assert [u[2] for u in ledger["upd"]] == [2, 5, 6]


def test_recording_times_compare_in_utc_whatever_their_offset() -> None:
    wib = timezone(timedelta(hours=7))
    assert time_key(datetime(2026, 3, 1, 15, 0, tzinfo=wib)) == "2026-03-01T08:00:00.000000+00:00"
    assert time_key(datetime(2026, 3, 1, 8, 0)) == "2026-03-01T08:00:00.000000+00:00"  # naive: UTC
    ledger = ledger_of(
        [
            updated(4, "2026-03-01", time="2026-03-01T09:00:00Z"),
            updated(7, "2026-03-01", time="2026-03-01T15:30:00+07:00"),  # 08:30 UTC: earlier
        ]
    )
    assert [u[2] for u in ledger["upd"]] == [7, 4]


def test_a_herd_keeps_the_species_it_was_registered_with() -> None:
    ledger = ledger_of([born(2, "2026-01-05", species="goat", herd_id="herd-9")])
    assert ledger["herds"]["herd-9"]["f"][2] == "goat"  # fallback until registered
    apply_event(ledger, *herd(4, "2025-12-01", species="sheep", herd_id="herd-9"))
    h = ledger["herds"]["herd-9"]
    assert h["r"][2:] == [4, "sheep"] and "f" not in h
    apply_event(ledger, *died(1, "2026-02-01", species="goat", herd_id="herd-9"))
    assert ledger["herds"]["herd-9"]["d"] == {"2026-01": 2, "2026-02": -1}
    assert "f" not in ledger["herds"]["herd-9"]


def test_a_plot_registered_twice_keeps_its_earliest_registration() -> None:
    for events in (
        [plot(0.6, "2025-01-01"), plot(0.3, "2024-05-05")],
        [plot(0.3, "2024-05-05"), plot(0.6, "2025-01-01")],
    ):
        assert ledger_of(events)["plots"] == {"plot-1": ["2024-05-05", 0.3]}


def test_practices_keep_their_first_day_and_manure_composting_counts_as_one() -> None:
    ledger = ledger_of(
        [
            practice("compost", "2026-05-01"),
            practice("compost", "2026-02-01"),
            manure("2026-04-01"),
            manure("2026-03-01"),
        ]
    )
    assert ledger["practices"] == {"compost": "2026-02-01", "manure_compost": "2026-03-01"}


def test_enrolment_facts_are_kept_per_programme() -> None:
    ledger = ledger_of(
        [
            enrolled("p1", "2026-02-03"),
            attended("p1", "2026-02-10"),
            attended("p1", "2026-02-05"),
            assessed("p1", "pre", 8, 20, "2026-02-05"),
            confidence("p1", 3, "2026-02-05"),
            mentored("p1", "2026-04-02"),
            mentored("p1", "2026-03-02"),
        ]
    )
    e = ledger["enrol"]["p1"]
    assert e["on"] == "2026-02-03" and e["att"] == "2026-02-05"
    assert [p[2:] for p in e["pre"]] == [[8.0, 20.0]]
    assert [c[2] for c in e["conf"]] == [3]
    assert e["men"] == ["2026-03-02", "2026-04-02"]
    assert ledger["months"]["2026-03"]["m"] == 1 and ledger["months"]["2026-04"]["m"] == 1


def test_only_non_registry_facts_count_as_data() -> None:
    ledger = ledger_of([registered(3, on="2024-01-10"), updated(4, "2024-02-01")])
    assert ledger["first_data_on"] is None
    apply_event(
        ledger,
        *event(
            ev.ExtensionVisitRecorded,
            household_id=HH,
            extension_worker_id="ppl-1",
            topic="pupuk",
            recommendation="kurangi urea",
            source_system="simluhtan",
            occurred_on="2025-06-01",
        ),
    )
    assert ledger["first_data_on"] == "2025-06-01"


def test_businesses_with_a_sale_are_read_per_window() -> None:
    ledger = ledger_of(
        [
            sale(1, "2025-06-30", business="biz-old"),
            sale(1, "2025-07-01", business="biz-a"),
            sale(1, "2026-06-30", business="biz-b", channel="shopee"),
            capital("2026-01-01"),
        ]
    )
    assert businesses_with_sale(ledger, window("2026-06", 12)) == {"biz-a", "biz-b"}


def _rich_history() -> list:
    same_day = "2026-03-01"
    return [
        registered(4, on="2024-01-10", time=T1),
        registered(5, on="2024-01-10", time=T2),  # a correction on the same day
        updated(3, "2026-02-01", time=T1),
        updated(6, "2026-02-01", time=T2),
        updated(2, "2026-07-01"),
        sale(300_000, same_day, channel="shopee", business="biz-1"),
        sale(200_000, same_day, channel="market", business="biz-2"),
        sale(150_000, "2025-07-01", channel="tokopedia"),
        sale(999_000, "2025-06-30", channel="whatsapp"),
        produce(400_000, "2026-04-11", channel="facebook"),
        produce(100_000, "2026-05-11"),
        livestock_sold(1_500_000, "2026-06-30", channel="whatsapp", count=1),
        capital("2026-02-01"),
        herd(2, "2025-01-01"),
        herd(10, "2025-02-01", species="chicken", herd_id="herd-2"),
        born(3, "2025-09-01"),
        died(1, "2026-01-10", cause="disease"),
        died(20, "2026-02-10", cause="disaster", species="chicken", herd_id="herd-2"),
        died(1, "2026-02-11", cause="accident", species="goat", herd_id="herd-3"),
        born(2, "2026-01-01", species="goat", herd_id="herd-3"),
        plot(0.3, "2024-05-05"),
        plot(0.6, "2025-01-01"),  # plot-1 again
        plot(0.4, "2026-07-01", plot_id="plot-2"),
        practice("compost", "2025-03-01"),
        practice("agroforestry", "2026-08-01"),
        manure("2026-01-20"),
        inputs("organic_fertilizer", 12.5, "2026-03-03"),
        inputs("organic_fertilizer", 0.1, "2026-03-03"),
        inputs("chemical_fertilizer", 7.25, "2026-04-04"),
        crop_loss("2026-02-02"),
        enrolled("p1", "2026-01-15"),
        attended("p1", "2026-02-02"),
        assessed("p1", "pre", 8, 20, "2026-02-02", time=T1),
        assessed("p1", "pre", 9, 20, "2026-02-02", time=T1),  # same day and time: value decides
        assessed("p1", "post", 15, 20, "2026-03-30"),
        confidence("p1", 2, "2026-02-02"),
        confidence("p1", 4, "2026-03-30"),
        mentored("p1", "2026-04-15"),
        mentored("p1", "2026-04-15"),
        enrolled("p2", "2026-05-01"),
        sale(50_000, "2026-05-20", channel="instagram", village=OTHER_VILLAGE),
    ]


def _fold(events: list) -> dict:
    ledger = new_ledger(HH)
    for envelope, payload in events:
        apply_event(ledger, envelope, payload)
    return ledger


def test_any_order_of_the_same_events_gives_the_same_ledger_and_score() -> None:
    history = _rich_history()
    programs = {
        "p1": {"program_id": "p1", "start_on": "2026-02-01", "end_on": "2026-03-31"},
        "p2": {"program_id": "p2", "start_on": "2026-05-01", "end_on": "2026-05-31"},
    }
    reference = _fold(history)
    reference_json = json.dumps(reference, sort_keys=True)
    scores = {
        m: score_household(reference, m, DEFAULT_RULES).to_dict() for m in ("2026-03", "2026-06")
    }
    statuses = enrolment_statuses(reference, programs, "2026-06", DEFAULT_RULES)
    rng = random.Random(20261128)
    for _ in range(40):
        shuffled = list(history)
        rng.shuffle(shuffled)
        # redeliveries interleaved anywhere change nothing either
        shuffled[rng.randrange(len(shuffled)) :] += rng.sample(history, 5)
        ledger = _fold(shuffled)
        assert ledger == reference
        assert json.dumps(ledger, sort_keys=True) == reference_json
        for month, expected in scores.items():
            assert score_household(ledger, month, DEFAULT_RULES).to_dict() == expected
        assert enrolment_statuses(ledger, programs, "2026-06", DEFAULT_RULES) == statuses


def test_the_shuffled_history_resolves_ties_as_documented() -> None:
    ledger = _fold(_rich_history())
    assert ledger["reg"][2:] == [VILLAGE, 5]  # same day, recorded later
    assert [u[2] for u in ledger["upd"]] == [3, 6, 2]
    assert [p[2] for p in ledger["enrol"]["p1"]["pre"]] == [8.0, 9.0]
    assert ledger["enrol"]["p1"]["men"] == ["2026-04-15", "2026-04-15"]  # two visits
    assert ledger["herds"]["herd-3"]["f"][2] == "goat"
    # 12.5 kg + 0.1 kg = 12 600 g
    assert ledger["months"]["2026-03"]["o"] == 12_600


def test_a_programme_document_is_idempotent_and_the_latest_creation_wins() -> None:
    created = program_created("prog-1", villages=(OTHER_VILLAGE, VILLAGE, VILLAGE))
    doc = apply_program(None, *created)
    assert doc["program_id"] == "prog-1"
    assert doc["village_codes"] == [VILLAGE, OTHER_VILLAGE]
    assert (doc["start_on"], doc["end_on"]) == ("2026-02-01", "2026-03-31")
    assert apply_program(doc, *created) == doc
    later = program_created("prog-1", end_on="2026-04-30", on="2026-01-06")
    assert apply_program(doc, *later)["end_on"] == "2026-04-30"
    assert apply_program(apply_program(None, *later), *created)["end_on"] == "2026-04-30"
    assert json.loads(json.dumps(doc)) == doc


def test_a_village_document_is_idempotent() -> None:
    registered_village = village_registered(VILLAGE, name="Sukamaju")
    doc = apply_village(None, *registered_village)
    assert (doc["village_code"], doc["name"], doc["district_code"]) == (
        VILLAGE,
        "Sukamaju",
        "3204",
    )
    assert apply_village(doc, *registered_village) == doc
