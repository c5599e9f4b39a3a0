"""A fact counts only for a household of its own village: the ledger's side of the rule.

Facts whose envelope names another village than the household's fold aside, in any arrival
order, and come back only if the household's village really becomes theirs.
"""

from __future__ import annotations

import copy
import itertools
import random

from services.aggregator.domain.ledger import apply_event, has_event, new_ledger, set_aside
from services.aggregator.domain.rules import DEFAULT_RULES
from services.aggregator.domain.scoring import score_household

from .builders import (
    HH,
    OTHER_VILLAGE,
    VILLAGE,
    enrolled,
    herd,
    ledger_of,
    plot,
    practice,
    produce,
    registered,
    sale,
)

FAR_VILLAGE = "3205010001"  # another district


def _counted(ledger: dict) -> dict:
    """What the views read: every field but the set-aside folds."""
    return {k: v for k, v in ledger.items() if k not in ("aside", "aside_district")}


def test_a_fact_naming_another_village_never_counts_for_a_registered_household() -> None:
    home = ledger_of([registered(4, village=FAR_VILLAGE)])
    ledger = ledger_of(
        [
            registered(4, village=FAR_VILLAGE),
            sale(1_000_000_000, "2026-03-10", channel="shopee", village=VILLAGE),
            produce(5_000_000, "2026-03-11", village=VILLAGE),
            practice("compost", "2026-03-12", village=VILLAGE),
        ]
    )
    assert ledger["village_code"] == FAR_VILLAGE
    assert ledger["months"] == {} and ledger["dd"] == [] and ledger["practices"] == {}
    assert ledger["first_data_on"] is None
    assert set_aside(ledger) == 3 and set(ledger["aside"]) == {VILLAGE}
    assert ledger["aside_district"] == FAR_VILLAGE[:4]
    month = "2026-03"
    assert score_household(ledger, month, DEFAULT_RULES) == score_household(
        home, month, DEFAULT_RULES
    )


def test_own_village_facts_count_beside_set_aside_ones() -> None:
    ledger = ledger_of(
        [
            registered(4),
            sale(300_000, "2026-03-10", village=VILLAGE),
            sale(900_000, "2026-03-11", village=OTHER_VILLAGE),
        ]
    )
    assert ledger["months"]["2026-03"]["u"] == 300_000
    assert ledger["aside"][OTHER_VILLAGE]["months"]["2026-03"]["u"] == 900_000
    assert set_aside(ledger) == 1


def test_facts_before_the_registration_sort_themselves_out_in_any_order() -> None:
    events = [
        sale(100_000, "2026-02-01", village=VILLAGE),
        sale(700_000, "2026-02-02", village=OTHER_VILLAGE),
        plot(0.5, "2026-01-05", village=OTHER_VILLAGE),
        herd(2, "2026-01-06", village=VILLAGE),
        enrolled("prog-1", "2026-01-07", village=OTHER_VILLAGE),
        produce(50_000, "2026-03-01", village=FAR_VILLAGE),
        registered(3, village=VILLAGE),
    ]
    rng = random.Random(19)
    orders = [rng.sample(range(len(events)), len(events)) for _ in range(200)]
    results = [ledger_of([events[i] for i in order]) for order in orders]
    first = results[0]
    assert all(r == first for r in results[1:])
    assert first["months"]["2026-02"]["u"] == 100_000 and "2026-03" not in first["months"]
    assert set(first["herds"]) == {"herd-1"} and first["plots"] == {} and first["enrol"] == {}
    assert set(first["aside"]) == {OTHER_VILLAGE, FAR_VILLAGE}
    assert set_aside(first) == 4


def test_an_unregistered_household_sets_nothing_aside_yet() -> None:
    ledger = ledger_of(
        [sale(1, "2026-05-01", village=VILLAGE), sale(2, "2026-05-02", village=OTHER_VILLAGE)]
    )
    assert ledger["registered"] is False and ledger["village_code"] == OTHER_VILLAGE
    assert set_aside(ledger) == 0 and "aside_district" not in ledger
    apply_event(ledger, *registered(2, village=VILLAGE))
    assert ledger["months"]["2026-05"]["u"] == 1 and set_aside(ledger) == 1


def test_a_redelivered_fact_changes_nothing_wherever_it_went() -> None:
    foreign = sale(900_000, "2026-03-11", village=OTHER_VILLAGE)
    own = sale(300_000, "2026-03-10")
    ledger = ledger_of([registered(4), foreign, own])
    before = copy.deepcopy(ledger)
    assert apply_event(ledger, *foreign) is False
    assert apply_event(ledger, *own) is False
    assert ledger == before
    assert has_event(ledger, foreign[0].id) and has_event(ledger, own[0].id)


def test_a_later_registration_elsewhere_swaps_the_folds_whole_in_any_order() -> None:
    events = [
        registered(4, on="2024-01-10", village=VILLAGE),
        sale(300_000, "2026-03-10", village=VILLAGE),
        sale(900_000, "2026-03-11", village=OTHER_VILLAGE),
        registered(5, on="2025-06-01", village=OTHER_VILLAGE),  # the later one decides
    ]
    results = [ledger_of([events[i] for i in order]) for order in itertools.permutations(range(4))]
    assert all(r == results[0] for r in results)
    ledger = results[0]
    assert ledger["village_code"] == OTHER_VILLAGE
    assert ledger["months"]["2026-03"]["u"] == 900_000
    assert ledger["aside"][VILLAGE]["months"]["2026-03"]["u"] == 300_000
    # the registry events stay at the top, never in a fold
    assert len(ledger["rids"]) == 2 and all(i in ledger["ids"] for i in ledger["rids"])


def test_nothing_is_lost_between_the_folds() -> None:
    events = [registered(4)] + [
        sale(
            1000 * (i + 1),
            f"2026-0{1 + i % 6}-1{i % 9}",
            village=(VILLAGE, OTHER_VILLAGE, FAR_VILLAGE)[i % 3],
        )
        for i in range(30)
    ]
    ledger = ledger_of(events)
    folds = [ledger, *ledger["aside"].values()]
    total = sum(m.get("u", 0) for fold in folds for m in fold["months"].values())
    assert total == sum(1000 * (i + 1) for i in range(30))
    facts = sum(len(fold["ids"]) for fold in folds) - len(ledger["rids"])
    assert facts == 30 and set_aside(ledger) == 20
    assert _counted(ledger)["months"] == _counted(ledger_of(events[:1] + events[1::3]))["months"]
    assert new_ledger(HH)["aside"] == {}
