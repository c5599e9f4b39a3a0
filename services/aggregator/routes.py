"""Resilience routes: household answers are computed from one stored ledger; village and
district answers are read from precomputed documents (computed on request only for
months outside the precomputed range)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.aggregator.context import Aggregator, aggregator_of
from services.aggregator.domain.months import window
from services.aggregator.domain.scoring import (
    district_summary,
    program_impact,
    program_participants,
    score_household,
)
from services.aggregator.models import (
    DistrictView,
    FollowUps,
    HouseholdView,
    Impact,
    Participants,
    SetAsideHousehold,
    Trend,
    VillageView,
)
from services.aggregator.readmodel import (
    DISTRICT_MONTHS,
    ENROLMENTS,
    LEDGERS,
    PROGRAMS,
    VILLAGE_MONTHS,
    VILLAGES,
    latest_idm,
    month_key,
    scan,
    strip_id,
    village_ledgers,
)
from shared.auth import NO_PROGRAMME_VILLAGE, Principal, PrincipalDep, Role, require_village
from shared.errors import Problem
from shared.events.catalogue import DistrictCode, Id, VillageCode
from shared.language import say
from shared.pagination import PageDep, PageOut, checked_cursor, page_of
from shared.ports.store import Doc

router = APIRouter(prefix="/resilience", tags=["resilience"])
AsOf = Annotated[
    str | None,
    Query(
        pattern=r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$",
        description="month YYYY-MM from 1900 (default: now)",
    ),
]
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or bad token"},
    403: {"description": "the token does not cover it"},
    404: {"description": "not known to the resilience view"},
    422: {"description": "invalid parameter"},
}


def _agg(request: Request) -> Aggregator:
    return aggregator_of(request.app.state.runtime)


def _month(agg: Aggregator, as_of: str | None) -> str:
    current = agg.views.current_month()
    if as_of is None:
        return current
    if as_of > current:
        raise Problem(
            422,
            say(
                "as_of: tidak boleh setelah bulan berjalan",
                "as_of: must not be after the current month",
            ),
            errors=[{"loc": ["query", "as_of"], "msg": say("di masa depan", "in the future")}],
        )
    return as_of


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if not k.startswith("_") and k != "follow_ups"}


def _village_summary(request: Request, village_code: str, month: str) -> dict[str, Any]:
    agg = _agg(request)
    store = request.app.state.runtime.store
    doc = store.get(VILLAGE_MONTHS, month_key(village_code, month))
    if doc is not None:
        return doc["summary"]
    if store.get(VILLAGES, village_code) is None and not store.count(
        LEDGERS, {"village_code": village_code}
    ):
        raise Problem(
            404,
            say(
                f"desa {village_code} belum ada di tampilan ketahanan",
                f"village {village_code} is not known to the resilience view",
            ),
        )
    return agg.views.village_month(village_code, month)


@router.get("/rules", summary="The rule set in force, with every parameter")
def rules(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    return _agg(request).rules.model_dump(mode="json")


@router.get(
    "/households/{household_id}",
    response_model=HouseholdView,
    responses=READ_ERRORS,
    summary="A household's index, pillars and the raw numbers behind them",
)
def household(
    household_id: Id, request: Request, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    agg = _agg(request)
    doc = request.app.state.runtime.store.get(LEDGERS, household_id)
    if doc is None or not doc.get("registered"):
        raise Problem(
            404,
            say(
                f"rumah tangga {household_id} belum terdaftar di tampilan ketahanan",
                f"household {household_id} is not registered in the view",
            ),
        )
    require_village(principal, doc["village_code"], None)
    return score_household(strip_id(doc), _month(agg, as_of), agg.rules).to_dict()


@router.get(
    "/villages/{village_code}",
    response_model=VillageView,
    responses=READ_ERRORS,
    summary="A village's resilience, income, training funnel (precomputed)",
)
def village(
    village_code: VillageCode, request: Request, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    require_village(principal, village_code, None)
    month = _month(_agg(request), as_of)
    answer = _public(_village_summary(request, village_code, month))
    answer["idm"] = latest_idm(request.app.state.runtime.store, village_code, month)
    return answer


@router.get(
    "/villages/{village_code}/trend",
    response_model=Trend,
    responses=READ_ERRORS,
    summary="index_mean and households_with_data for each of the last N months",
)
def trend(
    village_code: VillageCode,
    request: Request,
    principal: PrincipalDep,
    as_of: AsOf = None,
    months: Annotated[int, Query(ge=1, le=60)] = 12,
) -> Any:
    require_village(principal, village_code, None)
    last = _month(_agg(request), as_of)
    store = request.app.state.runtime.store
    wanted = window(last, months)
    found = store.get_many(VILLAGE_MONTHS, [month_key(village_code, m) for m in wanted])
    items = []
    for month in wanted:
        doc = found.get(month_key(village_code, month))
        summary = doc["summary"] if doc else _village_summary(request, village_code, month)
        items.append(
            {
                "month": month,
                "index_mean": summary["index_mean"],
                "households_with_data": summary["households_with_data"],
            }
        )
    return {"items": items}


@router.get(
    "/villages/{village_code}/follow-ups",
    response_model=FollowUps,
    responses=READ_ERRORS,
    summary="Trainees who need a follow-up visit this month",
)
def village_follow_ups(
    village_code: VillageCode, request: Request, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    require_village(principal, village_code, None)
    summary = _village_summary(request, village_code, _month(_agg(request), as_of))
    return {"items": summary.get("follow_ups", [])}


@router.get(
    "/districts/{district_code}",
    response_model=DistrictView,
    responses=READ_ERRORS,
    summary="Every village of a district with its index, band and coverage",
)
def district(
    district_code: DistrictCode, request: Request, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    if not principal.covers_district(district_code):
        raise Problem(
            403,
            say(
                "token ini tidak mencakup kabupaten tersebut",
                "this token does not cover that district",
            ),
        )
    agg = _agg(request)
    month = _month(agg, as_of)
    store = request.app.state.runtime.store
    doc = store.get(DISTRICT_MONTHS, month_key(district_code, month))
    if doc is not None:
        return doc["summary"]
    names = {
        v["village_code"]: v.get("name")
        for v in scan(store, VILLAGES, {"district_code": district_code})
    }
    if not names:
        raise Problem(
            404,
            say(
                f"kabupaten {district_code} belum memiliki desa terdaftar",
                f"district {district_code} has no registered village",
            ),
        )
    summaries = [_village_summary(request, code, month) for code in sorted(names)]
    return district_summary(district_code, month, summaries, names, agg.rules)


def _program_in_scope(request: Request, program_id: str, principal: Principal) -> Doc:
    program = request.app.state.runtime.store.get(PROGRAMS, program_id)
    if program is None:
        raise Problem(
            404,
            say(
                f"program {program_id} belum ada di tampilan ketahanan",
                f"programme {program_id} is not known to the resilience view",
            ),
        )
    if not any(principal.covers_village(v) for v in program.get("village_codes", [])):
        raise Problem(403, NO_PROGRAMME_VILLAGE)
    return strip_id(program)


@router.get(
    "/programs/{program_id}/participants",
    response_model=Participants,
    responses=READ_ERRORS,
    summary="Each participant's pathway stage and follow-up need",
)
def participants(
    program_id: Id, request: Request, principal: PrincipalDep, as_of: AsOf = None
) -> Any:
    agg = _agg(request)
    program = _program_in_scope(request, program_id, principal)
    store = request.app.state.runtime.store
    households = [d["household_id"] for d in scan(store, ENROLMENTS, {"program_id": program_id})]
    ledgers = [
        strip_id(doc)
        for doc in store.get_many(LEDGERS, households).values()
        if doc.get("registered") and principal.covers_village(doc["village_code"])
    ]
    return {"items": program_participants(program, ledgers, _month(agg, as_of), agg.rules)}


@router.get(
    "/programs/{program_id}/impact",
    response_model=Impact,
    responses=READ_ERRORS,
    summary="Did the training change digital sales? Difference in differences",
)
def impact(program_id: Id, request: Request, principal: PrincipalDep, as_of: AsOf = None) -> Any:
    agg = _agg(request)
    program = _program_in_scope(request, program_id, principal)
    covered = [v for v in program.get("village_codes", []) if principal.covers_village(v)]
    ledgers = village_ledgers(request.app.state.runtime.store, covered)
    return program_impact(program, ledgers, _month(agg, as_of), agg.rules)


SET_ASIDE_REASON = "other_village"


def _set_aside_entry(doc: Doc) -> dict[str, Any]:
    return {
        "household_id": doc["household_id"],
        "village_code": doc["village_code"],
        "set_aside": [
            {
                "village_code": village,
                "facts": len(fold["ids"]),
                "event_ids": fold["ids"],
                "months": sorted(fold["months"]),
                "reason": SET_ASIDE_REASON,
            }
            for village, fold in sorted(doc.get("aside", {}).items())
        ],
    }


@router.get(
    "/districts/{district_code}/set-aside",
    response_model=PageOut[SetAsideHousehold],
    responses=READ_ERRORS,
    summary="The district's households with facts that another village's writer recorded "
    "(they count nowhere); for the district's admin",
)
def set_aside_facts(
    district_code: DistrictCode, request: Request, principal: PrincipalDep, page: PageDep
) -> Any:
    if principal.role is not Role.DISTRICT_ADMIN or not principal.covers_district(district_code):
        raise Problem(
            403,
            say(
                "hanya admin kabupaten ini yang melihat fakta yang disisihkan",
                "only this district's admin sees the facts set aside",
            ),
        )
    found = request.app.state.runtime.store.find(
        LEDGERS, {"aside_district": district_code}, limit=page.limit, after=checked_cursor(page)
    )
    found.items = [_set_aside_entry(doc) for doc in found.items]
    return page_of(found)
