"""Programme impact: difference in differences of monthly digital sales around the start.

The programme starts 2026-04-10, so S = 2026-04: before = 2025-10 ... 2026-03 (6 months),
after = 2026-05 ... min(2026-10, M).

- p1 (enrolled on 2025-12-15): digital 600 000 in 2026-01 (before), 900 000 in 2026-06 (after); a
  digital sale in S itself and an offline sale never count.
- p2 (enrolled on 2026-04-01): a digital livestock sale of 300 000 in 2026-05.
- c1 (not enrolled): digital 1 200 000 on 2025-10-01 (first day before), 600 000 on
  2026-07-31; 6 000 000 on 2025-09-30 (S-7) and in 2026-11 (S+7) never count.
- c2 (not enrolled): no sales.
- u: enrolled but not registered: in neither group.
"""

from __future__ import annotations

from services.aggregator.domain.ledger import apply_program
from services.aggregator.domain.rules import DEFAULT_RULES
from services.aggregator.domain.scoring import program_impact

from .builders import (
    enrolled,
    ledger_of,
    livestock_sold,
    produce,
    program_created,
    registered,
    sale,
)

PROGRAM = apply_program(None, *program_created("prog-imp", "2026-04-10", "2026-05-31"))


def _households() -> list[dict]:
    def hh(hid: str, events: list) -> dict:
        return ledger_of(events, household_id=hid)

    return [
        hh(
            "p1",
            [
                registered(2, hh="p1"),
                enrolled("prog-imp", "2025-12-15", hh="p1"),
                sale(600_000, "2026-01-15", channel="shopee", hh="p1"),
                sale(5_000_000, "2026-04-20", channel="shopee", hh="p1"),  # in S
                produce(900_000, "2026-06-05", channel="whatsapp", hh="p1"),
                sale(2_000_000, "2026-06-10", channel="market", hh="p1"),  # offline
            ],
        ),
        hh(
            "p2",
            [
                registered(3, hh="p2"),
                enrolled("prog-imp", "2026-04-01", hh="p2"),
                livestock_sold(300_000, "2026-05-20", channel="whatsapp", hh="p2"),
            ],
        ),
        hh(
            "c1",
            [
                registered(4, hh="c1"),
                sale(6_000_000, "2025-09-30", channel="tokopedia", hh="c1"),  # S-7
                sale(1_200_000, "2025-10-01", channel="tokopedia", hh="c1"),
                sale(600_000, "2026-07-31", channel="tokopedia", hh="c1"),
                sale(6_000_000, "2026-11-01", channel="tokopedia", hh="c1"),  # S+7
            ],
        ),
        hh("c2", [registered(1, hh="c2")]),
        hh(
            "u",
            [
                enrolled("prog-imp", "2026-03-01", hh="u"),
                sale(9_000_000, "2026-06-01", channel="shopee", hh="u"),
            ],
        ),
    ]


def test_difference_in_differences_with_three_months_after() -> None:
    impact = program_impact(PROGRAM, _households(), "2026-07", DEFAULT_RULES)
    # participants before: p1 600 000/6 = 100 000, p2 0 -> 50 000
    # participants after (05, 06, 07): p1 900 000/3 = 300 000, p2 300 000/3 = 100 000 -> 200 000
    # comparison before: c1 1 200 000/6 = 200 000, c2 0 -> 100 000
    # comparison after: c1 600 000/3 = 200 000, c2 0 -> 100 000
    # did = (200 000 - 50 000) - (100 000 - 100 000) = 150 000
    assert impact == {
        "program_id": "prog-imp",
        "participants": 2,
        "comparison": 2,
        "before_participants": 50_000,
        "after_participants": 200_000,
        "before_comparison": 100_000,
        "after_comparison": 100_000,
        "did": 150_000,
        "months_after": 3,
    }


def test_months_after_are_clipped_at_six() -> None:
    impact = program_impact(PROGRAM, _households(), "2027-01", DEFAULT_RULES)
    # after = 2026-05 ... 2026-10 (6 months; c1's 2026-11 sale is out)
    # participants: p1 900 000/6 = 150 000, p2 300 000/6 = 50 000 -> 100 000
    # comparison: c1 600 000/6 = 100 000, c2 0 -> 50 000
    # did = (100 000 - 50 000) - (50 000 - 100 000) = 100 000
    assert impact["months_after"] == 6
    assert (impact["after_participants"], impact["after_comparison"]) == (100_000, 50_000)
    assert impact["did"] == 100_000


def test_no_after_and_no_did_while_m_is_not_after_s() -> None:
    for month in ("2026-04", "2026-03"):
        impact = program_impact(PROGRAM, _households(), month, DEFAULT_RULES)
        assert impact["after_participants"] is None and impact["after_comparison"] is None
        assert impact["did"] is None and impact["months_after"] == 0
    at_start = program_impact(PROGRAM, _households(), "2026-04", DEFAULT_RULES)
    assert (at_start["before_participants"], at_start["before_comparison"]) == (50_000, 100_000)


def test_before_months_after_m_do_not_count() -> None:
    # M = 2026-01: only 2025-10 ... 2026-01 of the before period are up to M (4 months), and
    # p2 is not enrolled yet, so it is in the comparison group.
    # participants: p1 600 000/4 = 150 000
    # comparison: p2 0, c1 1 200 000/4 = 300 000, c2 0 -> 300 000/3 = 100 000
    impact = program_impact(PROGRAM, _households(), "2026-01", DEFAULT_RULES)
    assert (impact["participants"], impact["comparison"]) == (1, 3)
    assert (impact["before_participants"], impact["before_comparison"]) == (150_000, 100_000)
    # M before the whole before period: nothing to compare
    early = program_impact(PROGRAM, _households(), "2025-09", DEFAULT_RULES)
    assert early["before_participants"] is None and early["before_comparison"] is None
    assert early["participants"] == 0 and early["comparison"] == 4  # nobody enrolled yet


def test_group_means_are_whole_rupiah_rounded_half_up() -> None:
    ledgers = [
        ledger_of(
            [
                registered(1, hh="p"),
                enrolled("prog-imp", "2026-03-01", hh="p"),
                sale(1_000_000, "2025-12-01", channel="shopee", hh="p"),
            ],
            household_id="p",
        ),
        ledger_of(
            [registered(1, hh="q"), enrolled("prog-imp", "2026-03-01", hh="q")],
            household_id="q",
        ),
    ]
    impact = program_impact(PROGRAM, ledgers, "2026-04", DEFAULT_RULES)
    # p 1 000 000/6 = 166 666.67, q 0 -> 83 333.33 -> 83 333
    assert impact["before_participants"] == 83_333
    assert impact["comparison"] == 0 and impact["before_comparison"] is None
