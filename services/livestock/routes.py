"""Livestock routes: herds and the facts of their lives (births, deaths, sales, care, manure).

Deaths and sales larger than the current head count are accepted: village records arrive
late and out of order, so a birth entered next week may well precede today's sale. The head
count is derived from all recorded facts and clamped at 0, as the resilience view does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.livestock.models import (
    BirthCreate,
    BirthPublic,
    CompostCreate,
    CompostPublic,
    DeathCreate,
    DeathPublic,
    DiseaseReportCreate,
    DiseaseReportPublic,
    FactCreate,
    HerdCreate,
    HerdDetailPublic,
    HerdPublic,
    RecordKind,
    RecordPublic,
    SaleCreate,
    SalePublic,
    VaccinationCreate,
    VaccinationPublic,
)
from shared.auth import PrincipalDep, Sector
from shared.commands import WriteGate, WriteGateDep
from shared.errors import ROUTE_PROBLEMS
from shared.events import catalogue as ev
from shared.events import vocab
from shared.events.envelope import VILLAGE_CODE_PATTERN
from shared.households import Households
from shared.language import say
from shared.pagination import PageDep, PageOut
from shared.ports.store import CollectionSpec, Store, scan
from shared.recording import (
    build_from,
    list_in_scope,
    load_in_scope,
    public_view,
    record,
    record_new,
    store_of,
    write_route,
)

HERDS = "livestock_herds"
RECORDS = "livestock_records"
HOUSEHOLDS = Households("livestock")
COLLECTIONS: tuple[CollectionSpec, ...] = (
    *HOUSEHOLDS.collections(),
    CollectionSpec(
        HERDS, indexes=("village_code", "district_code", "household_id", "species"), outbox=True
    ),
    CollectionSpec(
        RECORDS,
        indexes=("herd_id", "village_code", "district_code", "household_id", "kind"),
        outbox=True,
    ),
)
router = APIRouter(prefix="/livestock", tags=["livestock"], responses=ROUTE_PROBLEMS)
HOUSEHOLDS.add_routes(router)

VillageQuery = Annotated[str | None, Query(pattern=VILLAGE_CODE_PATTERN)]
HouseholdQuery = Annotated[str | None, Query(max_length=64)]
HEAD_COUNT_KINDS: tuple[RecordKind, ...] = ("birth", "death", "sale")


def _filters(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


# herds -------------------------------------------------------------------------------------
@write_route(router, "/herds", HerdPublic, "Register a household's herd (emits herd_registered)")
def register_herd(body: HerdCreate, request: Request, gate: WriteGateDep) -> JSONResponse:
    return record_new(
        gate,
        store_of(request),
        body,
        ev.HerdRegistered,
        sector=Sector.LIVESTOCK,
        collection=HERDS,
        id_field="herd_id",
        id_prefix="herd",
        subject=body.household_id,
        households=HOUSEHOLDS,
    )


@router.get("/herds", response_model=PageOut[HerdPublic], summary="Herds in scope")
def list_herds(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: VillageQuery = None,
    household_id: HouseholdQuery = None,
    species: vocab.Species | None = None,
) -> Any:
    where = _filters(household_id=household_id, species=species)
    return list_in_scope(
        store_of(request), HERDS, principal, page, village_code=village_code, where=where
    )


def _tally(store: Store, herd_id: str) -> dict[str, int]:
    """Animals born, died and sold according to every recorded fact of the herd."""
    totals = dict.fromkeys(HEAD_COUNT_KINDS, 0)
    for doc in scan(store, RECORDS, {"herd_id": herd_id, "kind": list(HEAD_COUNT_KINDS)}):
        totals[doc["kind"]] += doc["count"]
    return totals


@router.get(
    "/herds/{herd_id}",
    response_model=HerdDetailPublic,
    summary="One herd with its current head count",
)
def get_herd(herd_id: str, principal: PrincipalDep, request: Request) -> Any:
    store = store_of(request)
    herd = load_in_scope(store, HERDS, herd_id, principal, what=say("kelompok ternak", "herd"))
    totals = _tally(store, herd_id)
    born, died, sold = totals["birth"], totals["death"], totals["sale"]
    return {
        **public_view(herd),
        "born": born,
        "died": died,
        "sold": sold,
        "head_count": max(0, herd["count"] + born - died - sold),
    }


@router.get(
    "/herds/{herd_id}/records",
    response_model=PageOut[RecordPublic],
    summary="The recorded facts of one herd",
)
def list_herd_records(
    herd_id: str,
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    kind: RecordKind | None = None,
) -> Any:
    store = store_of(request)
    load_in_scope(store, HERDS, herd_id, principal, what=say("kelompok ternak", "herd"))
    where = _filters(herd_id=herd_id, kind=kind)
    return list_in_scope(store, RECORDS, principal, page, where=where)


# facts of a herd ----------------------------------------------------------------------------
def _record_fact(
    request: Request,
    gate: WriteGate,
    herd_id: str,
    body: FactCreate,
    kind: RecordKind,
    model: type[ev.Payload],
    **refs: Any,
) -> JSONResponse:
    """Record one fact of a herd; village, household and species come from the herd.

    The payload is ``model`` from the body's fields, the herd's and ``refs`` (derived values).
    """
    store = store_of(request)
    herd = load_in_scope(
        store,
        HERDS,
        herd_id,
        gate.principal,
        sector=Sector.LIVESTOCK,
        what=say("kelompok ternak", "herd"),
    )
    HOUSEHOLDS.check_parent(gate, herd)
    ref = {k: herd[k] for k in ("herd_id", "household_id", "species")}
    return record(
        gate,
        store,
        body=body,
        collection=RECORDS,
        id_field="fact_id",
        id_prefix="fact",
        village_code=herd["village_code"],
        build=build_from(model, body, doc={"kind": kind, **ref}, **ref, **refs),
        subject=herd["household_id"],
        occurred_on=body.occurred_on,
        params={"herd_id": herd_id},
    )


def _fact_route(path: str, model: type[BaseModel], summary: str) -> Callable[[Any], Any]:
    return write_route(router, f"/herds/{{herd_id}}/{path}", model, summary)


@_fact_route("births", BirthPublic, "Record animals born in a herd (emits animals_born)")
def record_births(
    herd_id: str, body: BirthCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    return _record_fact(request, gate, herd_id, body, "birth", ev.AnimalsBorn)


@_fact_route("deaths", DeathPublic, "Record animals that died (emits animals_died)")
def record_deaths(
    herd_id: str, body: DeathCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    return _record_fact(request, gate, herd_id, body, "death", ev.AnimalsDied)


@_fact_route(
    "vaccinations", VaccinationPublic, "Record a vaccination round (emits vaccination_recorded)"
)
def record_vaccination(
    herd_id: str, body: VaccinationCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    return _record_fact(request, gate, herd_id, body, "vaccination", ev.VaccinationRecorded)


@_fact_route(
    "disease-reports",
    DiseaseReportPublic,
    "Report disease cases in a herd (emits disease_reported)",
)
def report_disease(
    herd_id: str, body: DiseaseReportCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    return _record_fact(request, gate, herd_id, body, "disease_report", ev.DiseaseReported)


@_fact_route("sales", SalePublic, "Record animals sold, amount = count * price (livestock_sold)")
def record_sale(
    herd_id: str, body: SaleCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    amount = body.count * body.price_per_head
    return _record_fact(request, gate, herd_id, body, "sale", ev.LivestockSold, amount=amount)


@_fact_route("compost", CompostPublic, "Record manure composted (emits manure_composted)")
def record_compost(
    herd_id: str, body: CompostCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    # ManureComposted has no species; the payload model ignores it, the document keeps it.
    return _record_fact(request, gate, herd_id, body, "compost", ev.ManureComposted)


# facts across herds -------------------------------------------------------------------------
@router.get(
    "/records",
    response_model=PageOut[RecordPublic],
    summary="Livestock facts in scope (e.g. a village's disease reports)",
)
def list_records(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: VillageQuery = None,
    household_id: HouseholdQuery = None,
    kind: RecordKind | None = None,
) -> Any:
    where = _filters(household_id=household_id, kind=kind)
    return list_in_scope(
        store_of(request), RECORDS, principal, page, village_code=village_code, where=where
    )


@router.get(
    "/records/{fact_id}",
    response_model=RecordPublic,
    summary="One livestock fact",
)
def get_record(fact_id: str, principal: PrincipalDep, request: Request) -> Any:
    return public_view(
        load_in_scope(store_of(request), RECORDS, fact_id, principal, what=say("fakta", "fact"))
    )
