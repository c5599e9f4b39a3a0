"""Village and district views: coverage, means, bands, income, training, trend, district mean.

The village (M = 2026-06, W = 2025-07 ... 2026-06; programme 2026-02-01 ... 2026-03-31):

- hh-1, 1 member: 14 400 000 sold on shopee by biz-1 (2026-03-10), an old offline sale by
  biz-2 (2024-12-31, before W), pre 10/20, post 16/20 in prog-1.
  income min(1, 14 400 000/12/1 / 1 200 000) = 1; diversity 0; digital 0.7*1 + 0.3*1/3 = 0.8;
  capacity (0.8 + 0 + 0)/3 = 0.266667; assets 0; green 0
  index 100 * (0.25*1 + 0.2*0.8 + 0.15*0.266667) = 25 + 16 + 4 = 45.0 (berkembang)
  pathway: post 80 % -> 2; shopee sale after start -> 3; one month only -> stays 3;
  N-gain (80 - 50)/(100 - 50) = 0.6; ended before 2026-06-01, never mentored -> follow-up
- hh-2, 1 member: compost (2026-01-01), pre 20/20 and post 20/20 in prog-1, mentored
  2026-05-15. capacity (1 + 0 + 1/3)/3 = 0.444444; green 0.6 * 1/3 = 0.2
  index 100 * (0.15*0.444444 + 0.1*0.2) = 6.6667 + 2 = 8.6667 -> 8.7 (rentan)
  pathway: post 100 % -> 2; N-gain skipped (pre 100 %); mentored in M-1 -> no follow-up
- hh-3: registered, no facts: no data
- hh-4: not registered (a sale by biz-9): not part of the village figures
"""

from __future__ import annotations

import pytest

from services.aggregator.domain.ledger import apply_program
from services.aggregator.domain.rules import DEFAULT_RULES
from services.aggregator.domain.scoring import (
    district_summary,
    enrolment_statuses,
    follow_ups,
    village_summary,
    village_trend,
)

from .builders import (
    OTHER_VILLAGE,
    VILLAGE,
    assessed,
    enrolled,
    ledger_of,
    mentored,
    practice,
    program_created,
    registered,
    sale,
)

M = "2026-06"
PROGRAMS = {"prog-1": apply_program(None, *program_created("prog-1", "2026-02-01", "2026-03-31"))}


def _village() -> list[dict]:
    hh1 = ledger_of(
        [
            registered(1, hh="hh-1"),
            sale(14_400_000, "2026-03-10", channel="shopee", business="biz-1", hh="hh-1"),
            sale(100_000, "2024-12-31", business="biz-2", hh="hh-1"),
            enrolled("prog-1", "2026-01-20", hh="hh-1"),
            assessed("prog-1", "pre", 10, 20, "2026-02-01", hh="hh-1"),
            assessed("prog-1", "post", 16, 20, "2026-03-01", hh="hh-1"),
        ],
        household_id="hh-1",
    )
    hh2 = ledger_of(
        [
            registered(1, hh="hh-2"),
            practice("compost", "2026-01-01", hh="hh-2"),
            enrolled("prog-1", "2026-01-20", hh="hh-2"),
            assessed("prog-1", "pre", 20, 20, "2026-02-01", hh="hh-2"),
            assessed("prog-1", "post", 20, 20, "2026-03-01", hh="hh-2"),
            mentored("prog-1", "2026-05-15", hh="hh-2"),
        ],
        household_id="hh-2",
    )
    hh3 = ledger_of([registered(5, hh="hh-3")], household_id="hh-3")
    hh4 = ledger_of([sale(5_000_000, "2026-03-10", business="biz-9", hh="hh-4")], "hh-4")
    return [hh1, hh2, hh3, hh4]


def summary(month: str = M) -> dict:
    return village_summary(
        _village(), PROGRAMS, village_code=VILLAGE, month=month, rules=DEFAULT_RULES
    )


def test_village_counts_and_coverage() -> None:
    v = summary()
    assert (v["village_code"], v["as_of"], v["rule_set"]) == (VILLAGE, M, "lumbung-2026.1")
    assert v["households_registered"] == 3  # hh-4 is not registered
    assert v["households_with_data"] == 2  # hh-3 has no fact
    assert v["coverage"] == 0.667  # 2/3


def test_village_index_mean_is_over_households_with_data_rounded_half_up() -> None:
    v = summary()
    # (45.0 + 8.7) / 2 = 26.85 -> 26.9
    assert v["index_mean"] == 26.9 and v["band"] == "rentan"
    assert v["bands"] == {"rentan": 1, "berkembang": 1, "tangguh": 0}
    assert v["_index_sum"] == 53.7


def test_village_pillars_are_means_of_the_household_pillars() -> None:
    assert summary()["pillars"] == {
        "income": 0.5,  # (1 + 0) / 2
        "diversity": 0.0,
        "digital": 0.4,  # (0.8 + 0) / 2
        "capacity": 0.356,  # (0.267 + 0.444) / 2 = 0.3555
        "assets": 0.0,
        "green": 0.1,  # (0 + 0.2) / 2
    }


def test_village_income_umkm_activity_and_green_adoption() -> None:
    v = summary()
    assert v["income"] == {
        "umkm": 14_400_000,
        "crop": 0,
        "livestock": 0,
        "total": 14_400_000,
        "digital": 14_400_000,
    }
    assert v["digital_share"] == 1.0
    assert v["umkm_active"] == 1  # biz-1; biz-2 sold before W; biz-9 is unregistered
    assert v["green_adoption_rate"] == 0.5  # hh-2 of the 2 with data


def test_village_training_skips_a_perfect_pre_test_in_the_mean_ngain() -> None:
    assert summary()["training"] == {
        "participants": 2,
        "mean_ngain": 0.6,  # hh-1 only: (80 - 50)/(100 - 50); hh-2 has pre 100 %
        "stages": {"0": 0, "1": 0, "2": 1, "3": 1, "4": 0},
    }


def test_village_follow_ups_list_the_enrolments_that_need_a_visit() -> None:
    statuses = [
        s for ledger in _village() for s in enrolment_statuses(ledger, PROGRAMS, M, DEFAULT_RULES)
    ]
    assert follow_ups(statuses) == [
        {"household_id": "hh-1", "program_id": "prog-1", "stage": 3, "last_mentoring_on": None}
    ]


def test_an_empty_village_has_zero_shares_and_null_means() -> None:
    v = village_summary([], {}, village_code=VILLAGE, month=M, rules=DEFAULT_RULES)
    assert v["households_registered"] == 0 and v["households_with_data"] == 0
    assert v["coverage"] == 0.0 and v["digital_share"] == 0.0 and v["green_adoption_rate"] == 0.0
    assert v["index_mean"] is None and v["band"] is None
    assert set(v["pillars"].values()) == {None}
    assert v["training"] == {
        "participants": 0,
        "mean_ngain": None,
        "stages": {"0": 0, "1": 0, "2": 0, "3": 0, "4": 0},
    }
    assert v["_index_sum"] == 0.0


def test_village_trend_gives_each_month_its_own_figures() -> None:
    # 2026-04: hh-1 45.0; hh-2 not yet mentored: capacity (1 + 0 + 0)/3, 100 * (0.15/3 + 0.02)
    #          = 7.0 -> (45 + 7)/2 = 26.0; 2026-05 and 2026-06: (45 + 8.7)/2 = 26.85 -> 26.9
    assert village_trend(_village(), M, 3, DEFAULT_RULES) == [
        {"month": "2026-04", "index_mean": 26.0, "households_with_data": 2},
        {"month": "2026-05", "index_mean": 26.9, "households_with_data": 2},
        {"month": "2026-06", "index_mean": 26.9, "households_with_data": 2},
    ]
    assert village_trend(_village(), "2024-11", 1, DEFAULT_RULES) == [
        {"month": "2024-11", "index_mean": None, "households_with_data": 0}
    ]


def _other(index_sum: float, count: int, code: str) -> dict:
    mean = round(index_sum / count, 1) if count else None
    return {
        "village_code": code,
        "_index_sum": index_sum,
        "households_with_data": count,
        "index_mean": mean,
        "band": None if mean is None else "tangguh",
        "coverage": 1.0 if count else 0.0,
    }


def test_the_district_mean_is_over_all_households_not_a_mean_of_village_means() -> None:
    villages = [_other(90.0, 1, OTHER_VILLAGE), summary(), _other(0.0, 0, "3204052003")]
    names = {VILLAGE: "Sukamaju", OTHER_VILLAGE: "Mekarsari", "3204052003": "Cibodas"}
    d = district_summary("3204", M, villages, names, DEFAULT_RULES)
    # (53.7 + 90.0) / (2 + 1) = 143.7 / 3 = 47.9 (the mean of the means would be 58.45)
    assert d["index_mean"] == 47.9 and d["band"] == "berkembang"
    assert d["households_with_data"] == 3
    assert (d["district_code"], d["as_of"]) == ("3204", M)
    assert d["villages"] == [
        {
            "village_code": VILLAGE,
            "name": "Sukamaju",
            "index_mean": 26.9,
            "band": "rentan",
            "coverage": 0.667,
            "households_with_data": 2,
        },
        {
            "village_code": OTHER_VILLAGE,
            "name": "Mekarsari",
            "index_mean": 90.0,
            "band": "tangguh",
            "coverage": 1.0,
            "households_with_data": 1,
        },
        {
            "village_code": "3204052003",
            "name": "Cibodas",
            "index_mean": None,
            "band": None,
            "coverage": 0.0,
            "households_with_data": 0,
        },
    ]


@pytest.mark.parametrize("villages", [[], [_other(0.0, 0, VILLAGE)]])
def test_a_district_without_data_has_a_null_mean(villages: list) -> None:
    d = district_summary("3204", M, villages, {}, DEFAULT_RULES)
    assert d["index_mean"] is None and d["households_with_data"] == 0
