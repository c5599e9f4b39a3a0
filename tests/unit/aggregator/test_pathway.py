"""The training pathway: stages 0-4, N-gain and who needs a follow-up visit.

The programme runs 2026-02-01 ... 2026-03-31 unless a test says otherwise.
"""

from __future__ import annotations

import pytest

from services.aggregator.domain.ledger import apply_program
from services.aggregator.domain.rules import DEFAULT_RULES
from services.aggregator.domain.scoring import (
    EnrolmentStatus,
    enrolment_status,
    follow_ups,
    ngain,
    program_participants,
)

from .builders import (
    assessed,
    attended,
    enrolled,
    ledger_of,
    livestock_sold,
    mentored,
    produce,
    program_created,
    registered,
    sale,
)

PROGRAM = apply_program(None, *program_created("prog-1", "2026-02-01", "2026-03-31"))
BASE = [registered(3), enrolled("prog-1", "2026-01-20")]


def status(events: list, month: str, program: dict = PROGRAM) -> EnrolmentStatus | None:
    return enrolment_status(ledger_of(events), program, month, DEFAULT_RULES)


def stage(events: list, month: str = "2026-03") -> int:
    found = status(BASE + events, month)
    assert found is not None
    return found.stage


# N-gain ------------------------------------------------------------------------------------
def test_ngain_is_the_gain_over_the_room_to_grow() -> None:
    assert ngain(40.0, 70.0) == 0.5  # (70 - 40) / (100 - 40) = 30/60
    assert ngain(0.0, 30.0) == 0.3  # 30 / 100
    assert ngain(80.0, 60.0) == -1.0  # (60 - 80) / 20: a drop is negative


def test_ngain_skips_a_perfect_pre_test_and_missing_assessments() -> None:
    assert ngain(100.0, 100.0) is None
    assert ngain(100.0, 90.0) is None
    assert ngain(None, 80.0) is None
    assert ngain(50.0, None) is None


# stages ----------------------------------------------------------------------------------
def test_no_enrolment_up_to_m_means_no_status() -> None:
    assert status([registered(3)], "2026-03") is None
    assert status([registered(3), attended("prog-1", "2026-02-02")], "2026-03") is None
    late = [registered(3), enrolled("prog-1", "2026-04-01")]
    assert status(late, "2026-03") is None
    assert status(late, "2026-04") is not None


def test_stage_0_is_enrolled() -> None:
    found = status(BASE, "2026-03")
    assert found is not None
    assert (found.stage, found.stage_name) == (0, "terdaftar")
    assert (found.program_id, found.household_id) == ("prog-1", "hh-1")


def test_stage_1_needs_an_attendance_up_to_m() -> None:
    assert stage([attended("prog-1", "2026-02-02")]) == 1
    assert stage([attended("prog-1", "2026-04-01")], month="2026-03") == 0


def test_stage_2_by_a_post_score_of_seventy_percent() -> None:
    went = attended("prog-1", "2026-02-02")
    assert stage([went, assessed("prog-1", "post", 14, 20, "2026-03-01")]) == 2  # 14/20 = 70 %
    # 13.9/20 = 69.5 %, and no pre: no N-gain
    assert stage([went, assessed("prog-1", "post", 13.9, 20, "2026-03-01")]) == 1


def test_stage_2_by_an_ngain_of_point_three() -> None:
    gain = [
        assessed("prog-1", "pre", 8, 20, "2026-02-01"),
        assessed("prog-1", "post", 12, 20, "2026-03-01"),
    ]
    # pre 40 %, post 60 %: (60 - 40)/(100 - 40) = 0.333 >= 0.3
    found = status(BASE + gain, "2026-03")
    assert found is not None and found.stage == 2 and found.stage_name == "paham"
    assert (found.pre_pct, found.post_pct) == (40.0, 60.0)
    assert found.to_dict()["ngain"] == 0.333
    small = [
        assessed("prog-1", "pre", 10, 20, "2026-02-01"),
        assessed("prog-1", "post", 12, 20, "2026-03-01"),
    ]
    # pre 50 %, post 60 %: 10/50 = 0.2 < 0.3 and 60 % < 70 %
    assert stage(small) == 0


def test_stage_2_uses_the_latest_assessments_up_to_m_in_this_programme() -> None:
    events = [
        assessed("prog-1", "post", 10, 20, "2026-02-15"),
        assessed("prog-1", "post", 15, 20, "2026-04-15"),  # after M = 2026-03
        enrolled("prog-2", "2026-01-20"),
        assessed("prog-2", "post", 20, 20, "2026-02-15"),  # another programme
    ]
    assert stage(events, month="2026-03") == 0
    assert stage(events, month="2026-04") == 2  # 15/20 = 75 %


def test_stage_3_is_a_digital_sale_on_or_after_the_start() -> None:
    assert stage([sale(50_000, "2026-02-01", channel="shopee")]) == 3
    assert stage([sale(50_000, "2026-01-31", channel="shopee")]) == 0  # before start_on
    assert stage([sale(50_000, "2026-02-15", channel="market")]) == 0  # offline
    assert stage([produce(50_000, "2026-03-01", channel="whatsapp")]) == 3
    assert stage([livestock_sold(900_000, "2026-03-01", channel="facebook")]) == 3
    assert stage([sale(50_000, "2026-04-01", channel="shopee")], month="2026-03") == 0


def test_the_stage_is_the_highest_whose_condition_holds_even_skipping_stages() -> None:
    found = status([*BASE, sale(50_000, "2026-02-10", channel="tokopedia")], "2026-03")
    assert found is not None
    assert (found.stage, found.stage_name) == (3, "berjualan_online")


SUSTAINED = [
    sale(10_000, "2026-02-10", channel="shopee"),
    sale(10_000, "2026-04-10", channel="shopee"),
    produce(10_000, "2026-07-31", channel="whatsapp"),  # Feb + 5 = Jul: the last month of the span
]


def test_stage_4_is_digital_sales_in_three_months_of_the_six_from_the_first() -> None:
    found = status(BASE + SUSTAINED, "2026-07")
    assert found is not None
    assert (found.stage, found.stage_name) == (4, "berkelanjutan")
    assert stage(SUSTAINED, month="2026-06") == 3  # July is not up to M yet


def test_stage_4_needs_the_third_month_inside_the_span() -> None:
    events = [
        sale(10_000, "2026-02-10", channel="shopee"),
        sale(10_000, "2026-04-10", channel="shopee"),
        sale(10_000, "2026-08-01", channel="shopee"),  # Feb + 6: outside
    ]
    assert stage(events, month="2026-08") == 3


def test_stage_4_counts_distinct_months_from_the_first_sale_after_the_start() -> None:
    same_month = [
        sale(10_000, "2026-02-10", channel="shopee"),
        sale(10_000, "2026-02-20", channel="lazada"),
        sale(10_000, "2026-03-10", channel="shopee"),
    ]
    assert stage(same_month, month="2026-07") == 3  # Feb and Mar: 2 months
    before_start = [
        sale(10_000, "2025-12-10", channel="shopee"),
        sale(10_000, "2026-01-10", channel="shopee"),
        sale(10_000, "2026-02-10", channel="shopee"),
        sale(10_000, "2026-03-10", channel="shopee"),
    ]
    # the span starts with February (the first sale on/after start_on): Feb, Mar = 2 months
    assert stage(before_start, month="2026-07") == 3


# follow-up -------------------------------------------------------------------------------
def follow(events: list, month: str, program: dict = PROGRAM) -> EnrolmentStatus:
    found = status([*BASE, attended("prog-1", "2026-02-02"), *events], month, program)
    assert found is not None
    return found


def test_after_the_end_without_recent_mentoring_a_follow_up_is_needed() -> None:
    found = follow([], "2026-04")  # end_on 2026-03-31 is before 2026-04-01
    assert found.needs_follow_up is True and found.last_mentoring_on is None


def test_no_follow_up_while_the_programme_has_not_ended_before_m() -> None:
    assert follow([], "2026-03").needs_follow_up is False  # ends 2026-03-31, not before 03-01
    running = apply_program(None, *program_created("prog-1", "2026-02-01", "2026-04-01"))
    assert follow([], "2026-04", running).needs_follow_up is False


@pytest.mark.parametrize(
    ("visit", "needed"),
    [
        ("2026-04-30", False),  # in M
        ("2026-03-01", False),  # in M - 1
        ("2026-02-28", True),  # two months back
        ("2026-05-01", True),  # after M: does not count
    ],
)
def test_a_mentoring_visit_in_m_or_the_month_before_means_no_follow_up(
    visit: str, needed: bool
) -> None:
    assert follow([mentored("prog-1", visit)], "2026-04").needs_follow_up is needed


def test_last_mentoring_on_is_the_latest_visit_up_to_m_of_this_enrolment() -> None:
    found = follow(
        [
            mentored("prog-1", "2026-02-10"),
            mentored("prog-1", "2026-02-20"),
            mentored("prog-1", "2026-05-01"),  # after M
            enrolled("prog-2", "2026-01-20"),
            mentored("prog-2", "2026-04-10"),  # another programme's visit
        ],
        "2026-04",
    )
    assert found.last_mentoring_on == "2026-02-20"
    assert found.needs_follow_up is True


def test_a_sustained_seller_needs_no_follow_up() -> None:
    assert follow(SUSTAINED, "2026-07").needs_follow_up is False
    assert follow(SUSTAINED[:2], "2026-07").needs_follow_up is True  # stage 3


def test_an_unknown_programme_reaches_neither_stage_3_nor_follow_up() -> None:
    found = follow(
        [sale(10_000, "2026-02-10", channel="shopee")], "2026-09", {"program_id": "prog-1"}
    )
    assert (found.stage, found.needs_follow_up) == (1, False)


def test_follow_ups_and_participants_lists() -> None:
    due = ledger_of([*BASE, attended("prog-1", "2026-02-02"), mentored("prog-1", "2026-02-20")])
    fine = ledger_of(
        [
            registered(2, hh="hh-2"),
            enrolled("prog-1", "2026-01-20", hh="hh-2"),
            mentored("prog-1", "2026-04-02", hh="hh-2"),
        ],
        household_id="hh-2",
    )
    outsider = ledger_of([registered(2, hh="hh-3")], household_id="hh-3")
    ledgers = [fine, outsider, due]
    statuses = [
        s
        for s in (enrolment_status(lg, PROGRAM, "2026-04", DEFAULT_RULES) for lg in ledgers)
        if s is not None
    ]
    assert follow_ups(statuses) == [
        {
            "household_id": "hh-1",
            "program_id": "prog-1",
            "stage": 1,
            "last_mentoring_on": "2026-02-20",
        }
    ]
    assert program_participants(PROGRAM, ledgers, "2026-04", DEFAULT_RULES) == [
        {"household_id": "hh-1", "stage": 1, "stage_name": "dilatih", "needs_follow_up": True},
        {"household_id": "hh-2", "stage": 0, "stage_name": "terdaftar", "needs_follow_up": False},
    ]
