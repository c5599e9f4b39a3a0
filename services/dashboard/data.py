"""What the pages show, read from the resilience read model in-process.

The resilience answers come from the very functions behind ``/resilience/...`` (called
with the page's principal, so scope checks and numbers are the API's own: a 403 or 404
there is a 403 or 404 here). The few reads the API has no route for (names, programme
lists, a village's households) use the same read-model helpers and scoring functions.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.aggregator import routes as api
from services.aggregator.context import aggregator_of
from services.aggregator.domain.rules import RuleSet
from services.aggregator.domain.scoring import enrolment_statuses, score_household
from services.aggregator.readmodel import (
    LEDGERS,
    PROGRAMS,
    VILLAGES,
    programs_of,
    scan,
    strip_id,
    village_ledgers,
)
from shared.auth import Principal
from shared.errors import Problem

Doc = dict[str, Any]


def current_month(request: Request) -> str:
    return aggregator_of(request.app.state.runtime).views.current_month()


def history_months(request: Request) -> int:
    return int(request.app.state.runtime.settings.view_months)


def rules(request: Request) -> RuleSet:
    return aggregator_of(request.app.state.runtime).rules


def _store(request: Request) -> Any:
    return request.app.state.runtime.store


# the API's answers ---------------------------------------------------------------------
def district(request: Request, principal: Principal, code: str, month: str) -> Doc:
    return api.district(district_code=code, request=request, principal=principal, as_of=month)


def village(request: Request, principal: Principal, code: str, month: str) -> Doc:
    return api.village(village_code=code, request=request, principal=principal, as_of=month)


def trend(request: Request, principal: Principal, code: str, month: str) -> list[Doc]:
    answer = api.trend(
        village_code=code, request=request, principal=principal, as_of=month, months=12
    )
    return answer["items"]


def follow_ups(request: Request, principal: Principal, code: str, month: str) -> list[Doc]:
    answer = api.village_follow_ups(
        village_code=code, request=request, principal=principal, as_of=month
    )
    return answer["items"]


def household(request: Request, principal: Principal, household_id: str, month: str) -> Doc:
    return api.household(
        household_id=household_id, request=request, principal=principal, as_of=month
    )


def participants(request: Request, principal: Principal, program_id: str, month: str) -> list[Doc]:
    answer = api.participants(
        program_id=program_id, request=request, principal=principal, as_of=month
    )
    return answer["items"]


def impact(request: Request, principal: Principal, program_id: str, month: str) -> Doc:
    return api.impact(program_id=program_id, request=request, principal=principal, as_of=month)


# reference data and lists the API does not serve ------------------------------------------
def village_doc(request: Request, code: str) -> Doc:
    return _store(request).get(VILLAGES, code) or {}


def district_name(request: Request, code: str) -> str | None:
    page = _store(request).find(VILLAGES, {"district_code": code}, limit=1)
    return page.items[0].get("district_name") if page.items else None


def program_doc(request: Request, program_id: str) -> Doc:
    return strip_id(_store(request).get(PROGRAMS, program_id) or {"program_id": program_id})


def programs_in_scope(
    request: Request, principal: Principal, village_code: str | None = None
) -> list[Doc]:
    """Programmes reaching one of the principal's villages (or this one), newest first."""
    found = []
    for doc in scan(_store(request), PROGRAMS, {}):
        codes = doc.get("village_codes", [])
        if village_code is not None and village_code not in codes:
            continue
        if any(principal.covers_village(c) for c in codes):
            found.append(strip_id(doc))
    return sorted(found, key=lambda d: (d.get("start_on") or "", d["program_id"]), reverse=True)


def program_titles(request: Request, ids: set[str]) -> dict[str, str]:
    docs = _store(request).get_many(PROGRAMS, ids)
    return {pid: doc.get("title") or pid for pid, doc in docs.items()}


def covered_villages(request: Request, principal: Principal, month: str) -> list[Doc]:
    """Rows like the district answer's, for a token that names villages one by one."""
    rows = []
    for code in sorted(set(principal.villages)):
        try:
            summary = village(request, principal, code, month)
        except Problem as exc:
            if exc.status == 404:
                continue
            raise
        rows.append(
            {
                "village_code": code,
                "name": village_doc(request, code).get("name"),
                "index_mean": summary["index_mean"],
                "band": summary["band"],
                "coverage": summary["coverage"],
                "households_with_data": summary["households_with_data"],
            }
        )
    return rows


def village_households(request: Request, code: str, month: str) -> list[Doc]:
    """Every registered household of the village with its index (the household route's).

    The caller has checked the village is in scope.
    """
    rule_set = rules(request)
    rows = []
    for ledger in village_ledgers(_store(request), [code]):
        if not ledger.get("registered") or ledger.get("village_code") != code:
            continue
        score = score_household(ledger, month, rule_set)
        rows.append(
            {
                "household_id": score.household_id,
                "index": score.index,
                "band": score.band,
                "has_data": score.has_data,
                "size": score.size,
                "income_total": score.income["total"],
            }
        )
    return rows


def household_extras(request: Request, household_id: str, month: str) -> Doc:
    """Size, whether it has data, and its enrolments at M (the caller checked scope)."""
    ledger = _store(request).get(LEDGERS, household_id)
    if ledger is None:
        return {"has_data": False, "size": None, "enrolments": []}
    ledger = strip_id(ledger)
    rule_set = rules(request)
    score = score_household(ledger, month, rule_set)
    programs = programs_of(_store(request), [ledger])
    statuses = [s.to_dict() for s in enrolment_statuses(ledger, programs, month, rule_set)]
    for status in statuses:
        status["title"] = programs.get(status["program_id"], {}).get("title")
    return {"has_data": score.has_data, "size": score.size, "enrolments": statuses}
