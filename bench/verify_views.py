"""Check that the one-pass village months equal the reference, month by month.

    .venv/bin/python -m bench.verify_views STORE.sqlite3 FIRST_MONTH LAST_MONTH [VILLAGES]

For each village of a replayed read model (e.g. $LUMBUNG_BENCH_DIR/work/replay/
lumbung.sqlite3), ``village_months`` (what the view builder precomputes) is compared, as
JSON text (so every float bit and key), with ``village_summary`` + ``enrolment_statuses``
(the straightforward month-by-month formulas) for every month of the range.
"""

from __future__ import annotations

import json
import sys
import time

from services.aggregator.domain.months import month_range
from services.aggregator.domain.rules import DEFAULT_RULES
from services.aggregator.domain.scoring import (
    enrolment_statuses,
    follow_ups,
    village_months,
    village_summary,
)
from services.aggregator.readmodel import VILLAGES, programs_of, scan, village_ledgers
from shared.adapters.sqlite_store import SqliteStore


def main() -> None:
    store = SqliteStore(sys.argv[1])
    codes = sorted({v["village_code"] for v in scan(store, VILLAGES, {})})
    months = month_range(sys.argv[2], sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
    n, t_old, t_new = 0, 0.0, 0.0
    for code in codes[:limit]:
        ledgers = village_ledgers(store, [code])
        programs = programs_of(store, ledgers)
        t = time.perf_counter()
        fast = village_months(
            ledgers, programs, village_code=code, months=months, rules=DEFAULT_RULES
        )
        t_new += time.perf_counter() - t
        t = time.perf_counter()
        for month, (summary, statuses) in zip(months, fast, strict=True):
            ref = village_summary(
                ledgers, programs, village_code=code, month=month, rules=DEFAULT_RULES
            )
            ref_statuses = [
                s
                for ledger in ledgers
                if ledger.get("registered")
                for s in enrolment_statuses(ledger, programs, month, DEFAULT_RULES)
            ]
            assert json.dumps(ref) == json.dumps(summary), (code, month)
            assert follow_ups(ref_statuses) == follow_ups(statuses), (code, month)
            n += 1
        t_old += time.perf_counter() - t
    print(f"identical village-months: {n}; month by month {t_old:.2f} s, one pass {t_new:.2f} s")


if __name__ == "__main__":
    main()
