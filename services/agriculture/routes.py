"""Agriculture routes: plots with their plantings and harvests, and a household's farm facts.

Plots live in their own collection. Every other fact, plantings and harvests included, is one
document in ``agriculture_records``: its event's data plus ``kind`` (``sale``, ``harvest``,
...), so listing by village, household, kind or plot is a plain equality filter.

Farmer groups (kelompok tani) live in ``agriculture_groups``, memberships in
``agriculture_group_members`` (id derived from group and household: joining twice is one
membership, the second answer a 200 with the first). Events these add to EVENTS.md:

- ``farmer_group_registered``: ``group_id``, ``village_code``, ``name`` (the group's name)
- ``farmer_group_joined``: ``group_id``, ``household_id``
- ``input_planned``: ``household_id``, ``season`` (``YYYY-MT1..3``), ``input_type``,
  ``product``, ``kg``, ``group_id`` (optional), ``source_system`` -- fertiliser *planned* for
  a season (e-RDKK), stored as a record of kind ``input_plan``; never ``input_applied``, so
  it moves no green or input score.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.agriculture.models import (
    ExtensionVisitCreate,
    ExtensionVisitPublic,
    FarmerGroupCreate,
    FarmerGroupDetailPublic,
    FarmerGroupPublic,
    GroupMemberCreate,
    GroupMemberPublic,
    HarvestCreate,
    HarvestPublic,
    HouseholdFactCreate,
    InputCreate,
    InputPlanCreate,
    InputPlanPublic,
    InputPublic,
    Kind,
    LossCreate,
    LossPublic,
    PlantingCreate,
    PlantingPublic,
    PlotCreate,
    PlotDetailPublic,
    PlotPublic,
    PracticeCreate,
    PracticePublic,
    RecordPublic,
    SaleCreate,
    SalePublic,
    produce_amount,
)
from shared.auth import PrincipalDep, Sector, require_village
from shared.commands import WriteGate, WriteGateDep, Written
from shared.errors import ROUTE_PROBLEMS, field_problem
from shared.events import catalogue as ev
from shared.events.catalogue import Payload
from shared.events.envelope import VILLAGE_CODE_PATTERN
from shared.households import Households
from shared.language import say
from shared.pagination import PageDep, PageOut
from shared.ports.store import CollectionSpec, Doc, Store, scan
from shared.recording import (
    WRITE_RESPONSES,
    build_from,
    list_in_scope,
    load_in_scope,
    public_view,
    record,
    record_new,
    store_of,
    write_route,
)

PLOTS = "agriculture_plots"
RECORDS = "agriculture_records"
GROUPS = "agriculture_groups"
MEMBERS = "agriculture_group_members"
HOUSEHOLDS = Households("agriculture")
COLLECTIONS = (
    *HOUSEHOLDS.collections(),
    CollectionSpec(GROUPS, indexes=("village_code", "district_code"), outbox=True),
    CollectionSpec(
        MEMBERS, indexes=("village_code", "district_code", "group_id", "household_id"), outbox=True
    ),
    CollectionSpec(PLOTS, indexes=("village_code", "district_code", "household_id"), outbox=True),
    CollectionSpec(
        RECORDS,
        indexes=("village_code", "district_code", "household_id", "kind", "plot_id"),
        outbox=True,
    ),
)
KINDS: dict[type[Payload], Kind] = {
    ev.CropPlanted: "planting",
    ev.HarvestRecorded: "harvest",
    ev.ProduceSold: "sale",
    ev.GreenPracticeAdopted: "practice",
    ev.InputApplied: "input",
    ev.CropLossReported: "loss",
    ev.ExtensionVisitRecorded: "extension_visit",
    ev.InputPlanned: "input_plan",
}
HouseholdQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
VillageQuery = Annotated[str | None, Query(pattern=VILLAGE_CODE_PATTERN)]
router = APIRouter(prefix="/agriculture", tags=["agriculture"], responses=ROUTE_PROBLEMS)
HOUSEHOLDS.add_routes(router)


def _record_fact(
    gate: WriteGate,
    store: Store,
    body: BaseModel,
    model: type[Payload],
    *,
    village_code: str,
    household_id: str,
    occurred_on: date | None,
    params: dict[str, str] | None = None,
    **refs: Any,
) -> JSONResponse:
    """Store one fact as its event's data plus ``kind``, and emit that event.

    The payload is ``model`` from the body's fields, the household and ``refs``.
    """
    return record(
        gate,
        store,
        body=body,
        collection=RECORDS,
        id_field="fact_id",
        id_prefix="fact",
        village_code=village_code,
        build=build_from(
            model, body, doc={"kind": KINDS[model]}, household_id=household_id, **refs
        ),
        subject=household_id,
        occurred_on=occurred_on,
        params=params,
    )


def _plot_for_write(gate: WriteGate, store: Store, plot_id: str) -> Doc:
    plot = load_in_scope(
        store,
        PLOTS,
        plot_id,
        gate.principal,
        sector=Sector.AGRICULTURE,
        what=say("petak lahan", "plot"),
    )
    HOUSEHOLDS.check_parent(gate, plot)
    return plot


def _plot_fact(
    gate: WriteGate,
    store: Store,
    plot: Doc,
    body: PlantingCreate | HarvestCreate,
    model: type[Payload],
) -> JSONResponse:
    """A fact of a plot: in the plot's village, for the plot's household."""
    plot_id = plot["plot_id"]
    return _record_fact(
        gate,
        store,
        body,
        model,
        village_code=plot["village_code"],
        household_id=plot["household_id"],
        occurred_on=body.occurred_on,
        params={"plot_id": plot_id},
        plot_id=plot_id,
    )


def _household_fact(
    request: Request, gate: WriteGate, body: HouseholdFactCreate, model: type[Payload], **refs: Any
) -> JSONResponse:
    """A fact the body places in its household's village (checked against the token)."""
    require_village(gate.principal, body.village_code, Sector.AGRICULTURE)
    HOUSEHOLDS.check(gate, body.household_id, body.village_code)
    return _record_fact(
        gate,
        store_of(request),
        body,
        model,
        village_code=body.village_code,
        household_id=body.household_id,
        occurred_on=body.occurred_on,
        **refs,
    )


def _all_of_plot(store: Store, plot_id: str) -> list[Doc]:
    # A plot gathers a few records a season: reading them all keeps the detail view whole.
    found = scan(store, RECORDS, {"plot_id": plot_id})
    return sorted(found, key=lambda d: (d["occurred_on"], d["fact_id"]))


# writes -----------------------------------------------------------------------------------
@write_route(router, "/plots", PlotPublic, "Register a household's plot (emits plot_registered)")
def register_plot(body: PlotCreate, request: Request, gate: WriteGateDep) -> Any:
    return record_new(
        gate,
        store_of(request),
        body,
        ev.PlotRegistered,
        sector=Sector.AGRICULTURE,
        collection=PLOTS,
        id_field="plot_id",
        id_prefix="plot",
        subject=body.household_id,
        households=HOUSEHOLDS,
    )


@write_route(
    router,
    "/plots/{plot_id}/plantings",
    PlantingPublic,
    "Record a crop planted on a plot (emits crop_planted)",
)
def plant_crop(plot_id: str, body: PlantingCreate, request: Request, gate: WriteGateDep) -> Any:
    store = store_of(request)
    plot = _plot_for_write(gate, store, plot_id)
    if body.area_ha > plot["area_ha"]:
        raise field_problem(
            "area_ha",
            say(
                f"tidak boleh melebihi luas lahan, {plot['area_ha']} ha",
                f"must not exceed the plot's {plot['area_ha']} ha",
            ),
        )
    return _plot_fact(gate, store, plot, body, ev.CropPlanted)


@write_route(
    router,
    "/plots/{plot_id}/harvests",
    HarvestPublic,
    "Record a harvest from a plot (emits harvest_recorded)",
)
def record_harvest(plot_id: str, body: HarvestCreate, request: Request, gate: WriteGateDep) -> Any:
    store = store_of(request)
    plot = _plot_for_write(gate, store, plot_id)
    return _plot_fact(gate, store, plot, body, ev.HarvestRecorded)


@write_route(
    router,
    "/sales",
    SalePublic,
    "Record produce sold (emits produce_sold; amount = kg x price_per_kg, rounded half up)",
)
def sell_produce(body: SaleCreate, request: Request, gate: WriteGateDep) -> Any:
    amount = produce_amount(body.kg, body.price_per_kg)
    return _household_fact(request, gate, body, ev.ProduceSold, amount=amount)


@write_route(
    router,
    "/practices",
    PracticePublic,
    "Record a green practice adopted (emits green_practice_adopted)",
)
def adopt_practice(body: PracticeCreate, request: Request, gate: WriteGateDep) -> Any:
    return _household_fact(request, gate, body, ev.GreenPracticeAdopted)


@write_route(
    router, "/inputs", InputPublic, "Record fertiliser or pesticide applied (emits input_applied)"
)
def apply_input(body: InputCreate, request: Request, gate: WriteGateDep) -> Any:
    return _household_fact(request, gate, body, ev.InputApplied)


@write_route(router, "/losses", LossPublic, "Report a crop loss (emits crop_loss_reported)")
def report_loss(body: LossCreate, request: Request, gate: WriteGateDep) -> Any:
    return _household_fact(request, gate, body, ev.CropLossReported)


@write_route(
    router,
    "/extension-visits",
    ExtensionVisitPublic,
    "Record an extension worker's visit (emits extension_visit_recorded)",
)
def record_extension_visit(body: ExtensionVisitCreate, request: Request, gate: WriteGateDep) -> Any:
    return _household_fact(request, gate, body, ev.ExtensionVisitRecorded)


@write_route(
    router,
    "/input-plans",
    InputPlanPublic,
    "Record fertiliser planned for a season, e.g. from e-RDKK (emits input_planned)",
)
def plan_input(body: InputPlanCreate, request: Request, gate: WriteGateDep) -> Any:
    return _household_fact(request, gate, body, ev.InputPlanned)


@write_route(
    router,
    "/farmer-groups",
    FarmerGroupPublic,
    "Register a farmer group (kelompok tani) of a village (emits farmer_group_registered)",
)
def register_farmer_group(body: FarmerGroupCreate, request: Request, gate: WriteGateDep) -> Any:
    return record_new(
        gate,
        store_of(request),
        body,
        ev.FarmerGroupRegistered,
        sector=Sector.AGRICULTURE,
        collection=GROUPS,
        id_field="group_id",
        id_prefix="grp",
        subject=None,
    )


def membership_id(group_id: str, household_id: str) -> str:
    return "mbr-" + hashlib.sha256(f"{group_id}|{household_id}".encode()).hexdigest()[:24]


@router.post(
    "/farmer-groups/{group_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=GroupMemberPublic,
    responses={
        **WRITE_RESPONSES,
        200: {"model": GroupMemberPublic, "description": "already a member: the membership"},
    },
    summary="A household joins a farmer group (emits farmer_group_joined; once per household)",
)
def join_farmer_group(
    group_id: str, body: GroupMemberCreate, request: Request, gate: WriteGateDep
) -> Any:
    store = store_of(request)
    group = load_in_scope(
        store,
        GROUPS,
        group_id,
        gate.principal,
        sector=Sector.AGRICULTURE,
        what=say("kelompok tani", "group"),
    )
    require_village(gate.principal, body.village_code, Sector.AGRICULTURE)
    if body.village_code != group["village_code"]:
        raise field_problem(
            "village_code",
            say("bukan desa kelompok tani ini", "is not the farmer group's village"),
        )
    HOUSEHOLDS.check(gate, body.household_id, body.village_code)
    existing = store.get(MEMBERS, membership_id(group_id, body.household_id))
    if existing is not None:  # the gate still replays a retried first answer (its 201)
        params = {"group_id": group_id}
        return gate.run(lambda _ids: Written(200, public_view(existing)), body=body, params=params)
    return record(
        gate,
        store,
        body=body,
        collection=MEMBERS,
        id_field="membership_id",
        id_prefix="mbr",
        village_code=body.village_code,
        build=build_from(ev.FarmerGroupJoined, body, group_id=group_id),
        subject=body.household_id,
        given_id=membership_id(group_id, body.household_id),
        occurred_on=body.occurred_on,
        params={"group_id": group_id},
    )


# reads ------------------------------------------------------------------------------------
@router.get("/plots", response_model=PageOut[PlotPublic], summary="Plots in scope")
def list_plots(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: VillageQuery = None,
    household_id: HouseholdQuery = None,
) -> Any:
    where = {"household_id": household_id} if household_id is not None else {}
    return list_in_scope(
        store_of(request), PLOTS, principal, page, village_code=village_code, where=where
    )


@router.get(
    "/plots/{plot_id}",
    response_model=PlotDetailPublic,
    summary="One plot with its plantings and harvests (oldest first)",
)
def get_plot(plot_id: str, principal: PrincipalDep, request: Request) -> Any:
    store = store_of(request)
    plot = load_in_scope(store, PLOTS, plot_id, principal, what=say("petak lahan", "plot"))
    records = [public_view(d) for d in _all_of_plot(store, plot_id)]
    return {
        **public_view(plot),
        "plantings": [r for r in records if r["kind"] == "planting"],
        "harvests": [r for r in records if r["kind"] == "harvest"],
    }


@router.get(
    "/records",
    response_model=PageOut[RecordPublic],
    summary="Recorded farm facts in scope, by village, household or kind",
)
def list_records(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: VillageQuery = None,
    household_id: HouseholdQuery = None,
    kind: Annotated[Kind | None, Query(description="what kind of fact")] = None,
) -> Any:
    where = {k: v for k, v in (("household_id", household_id), ("kind", kind)) if v is not None}
    return list_in_scope(
        store_of(request), RECORDS, principal, page, village_code=village_code, where=where
    )


@router.get("/records/{fact_id}", response_model=RecordPublic, summary="One recorded farm fact")
def get_record(fact_id: str, principal: PrincipalDep, request: Request) -> Any:
    doc = load_in_scope(
        store_of(request), RECORDS, fact_id, principal, what=say("catatan", "record")
    )
    return public_view(doc)


@router.get(
    "/farmer-groups", response_model=PageOut[FarmerGroupPublic], summary="Farmer groups in scope"
)
def list_farmer_groups(
    principal: PrincipalDep, request: Request, page: PageDep, village_code: VillageQuery = None
) -> Any:
    return list_in_scope(store_of(request), GROUPS, principal, page, village_code=village_code)


@router.get(
    "/farmer-groups/{group_id}",
    response_model=FarmerGroupDetailPublic,
    summary="One farmer group with its member households",
)
def get_farmer_group(group_id: str, principal: PrincipalDep, request: Request) -> Any:
    store = store_of(request)
    group = load_in_scope(store, GROUPS, group_id, principal, what=say("kelompok tani", "group"))
    # A group has a few dozen members: reading them all keeps the detail view whole.
    members = scan(store, MEMBERS, {"group_id": group_id})
    return {**public_view(group), "members": [public_view(m) for m in members]}
