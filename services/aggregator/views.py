"""Precomputed village and district answers, rebuilt from ledgers for the months touched.

They are pure functions of the stored ledgers and programmes, so rebuilding them after a
crash (or twice) gives the same documents: the projector always rebuilds the views of
every village a batch touched, whether or not its events were new.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from services.aggregator.domain.months import add_months, month_of, month_range
from services.aggregator.domain.rules import RuleSet
from services.aggregator.domain.scoring import (
    district_summary,
    follow_ups,
    village_months,
)
from services.aggregator.readmodel import (
    DISTRICT_MONTHS,
    STATE,
    VILLAGE_MONTHS,
    VILLAGES,
    month_key,
    programs_of,
    scan,
    village_ledgers,
)
from shared.ports.store import BulkUpsert, Doc, Store


class ViewBuilder:
    def __init__(
        self, store: Store, rules: RuleSet, clock: Callable[[], date], *, history_months: int
    ) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        self.history_months = history_months

    def current_month(self) -> str:
        return month_of(self.clock())

    def first_month(self) -> str:
        """The oldest precomputed month; older ones are computed on request."""
        return add_months(self.current_month(), -(self.history_months - 1))

    def village_month(self, village_code: str, month: str) -> dict[str, Any]:
        """The village answer computed now from its ledgers (for months not precomputed)."""
        ledgers = village_ledgers(self.store, [village_code])
        return self._summaries(village_code, ledgers, [month])[0]

    def _summaries(
        self, village_code: str, ledgers: list[Doc], months: list[str]
    ) -> list[dict[str, Any]]:
        programs = programs_of(self.store, ledgers)
        out = []
        for summary, statuses in village_months(
            ledgers, programs, village_code=village_code, months=months, rules=self.rules
        ):
            summary["follow_ups"] = follow_ups(statuses)
            out.append(summary)
        return out

    def refresh(self, touched: Mapping[str, str]) -> None:
        """Rebuild village months from each village's first touched month to now, then the
        districts of those villages for the same months."""
        if not touched:
            return
        last, floor = self.current_month(), self.first_month()
        districts: dict[str, str] = {}
        upserts: list[BulkUpsert] = []
        for village_code, first in sorted(touched.items()):
            months = month_range(max(first, floor), last)
            if not months:
                continue
            ledgers = village_ledgers(self.store, [village_code])
            for month, summary in zip(
                months, self._summaries(village_code, ledgers, months), strict=True
            ):
                upserts.append(
                    BulkUpsert(
                        VILLAGE_MONTHS,
                        {
                            "_id": month_key(village_code, month),
                            "village_code": village_code,
                            "district_code": village_code[:4],
                            "month": month,
                            "summary": summary,
                        },
                    )
                )
            district = village_code[:4]
            districts[district] = min(districts.get(district, months[0]), months[0])
        self.store.bulk_replace(upserts)
        self._refresh_districts(districts, last)
        self.store.replace(STATE, {"_id": "views", "through": last})

    def _refresh_districts(self, districts: Mapping[str, str], last: str) -> None:
        upserts = []
        for district, first in sorted(districts.items()):
            names = {
                v["village_code"]: v.get("name")
                for v in scan(self.store, VILLAGES, {"district_code": district})
            }
            for month in month_range(first, last):
                found = self.store.get_many(
                    VILLAGE_MONTHS, [month_key(code, month) for code in names]
                )
                summary = district_summary(
                    district, month, [d["summary"] for d in found.values()], names, self.rules
                )
                upserts.append(
                    BulkUpsert(
                        DISTRICT_MONTHS,
                        {
                            "_id": month_key(district, month),
                            "district_code": district,
                            "month": month,
                            "summary": summary,
                        },
                    )
                )
        self.store.bulk_replace(upserts)

    def roll_over(self) -> bool:
        """When a new month has begun, precompute it for every village; True if it did."""
        state = self.store.get(STATE, "views")
        current = self.current_month()
        if state is not None and state.get("through", "") >= current:
            return False
        since = current if state is None else add_months(state["through"], 1)
        villages = {v["village_code"]: since for v in scan(self.store, VILLAGES, {})}
        if state is not None:
            for doc in scan(self.store, VILLAGE_MONTHS, {"month": state["through"]}):
                villages.setdefault(doc["village_code"], since)
        self.refresh(villages)
        self.store.replace(STATE, {"_id": "views", "through": current})
        return True
