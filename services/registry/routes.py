"""Registry routes: thin — validate, check scope, hand to the write gate, map to HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from services.registry.models import (
    HouseholdCreate,
    HouseholdPublic,
    HouseholdUpdate,
    VillageCreate,
    VillagePublic,
)
from shared.auth import Principal, PrincipalDep, Role, Sector, require_village
from shared.commands import (
    Ids,
    WriteGateDep,
    Written,
    build_event,
    insert_once,
    not_future,
    today_or,
    update_once,
)
from shared.errors import ROUTE_PROBLEMS, Problem, field_problem
from shared.events import catalogue as ev
from shared.events.catalogue import VillageCode
from shared.pagination import PageDep, PageOut, checked_cursor, page_of
from shared.pii import PiiVault
from shared.ports.store import CollectionSpec, Doc, Store
from shared.recording import WRITE_RESPONSES

VILLAGES = "registry_villages"
HOUSEHOLDS = "registry_households"
COLLECTIONS = (
    CollectionSpec(VILLAGES, indexes=("district_code",), outbox=True),
    CollectionSpec(HOUSEHOLDS, indexes=("village_code", "district_code"), outbox=True),
)
router = APIRouter(prefix="/registry", tags=["registry"], responses=ROUTE_PROBLEMS)


def _store(request: Request) -> Store:
    return request.app.state.runtime.store


def _vault(request: Request) -> PiiVault:
    return PiiVault(request.app.state.runtime.settings.pii_key)


def _village_public(doc: Doc) -> dict[str, Any]:
    return VillagePublic.model_validate(doc).model_dump(mode="json")


def _household_public(doc: Doc, vault: PiiVault) -> dict[str, Any]:
    sealed = doc.get("head_name_sealed")
    shown = {**doc, "head_name": vault.open(sealed) if sealed else None}
    return HouseholdPublic.model_validate(shown).model_dump(mode="json")


@router.post(
    "/villages",
    status_code=status.HTTP_201_CREATED,
    response_model=VillagePublic,
    responses=WRITE_RESPONSES,
    summary="Register a village (district admin of its district)",
)
def register_village(body: VillageCreate, request: Request, gate: WriteGateDep) -> Any:
    principal = gate.principal
    if principal.role is not Role.DISTRICT_ADMIN or not principal.covers_district(
        body.district_code
    ):
        raise Problem(403, "only the district admin of this district registers its villages")
    not_future("occurred_on", body.occurred_on)
    store = _store(request)

    def action(ids: Ids) -> Written:
        day = today_or(body.occurred_on)
        doc = {
            "_id": body.village_code,
            "village_code": body.village_code,
            "name": body.name,
            "district_code": body.district_code,
            "district_name": body.district_name,
            "registered_on": day.isoformat(),
        }
        event = build_event(
            ev.VillageRegistered(
                occurred_on=day,
                village_code=body.village_code,
                name=body.name,
                district_code=body.district_code,
                district_name=body.district_name,
            ),
            village_code=body.village_code,
            subject=None,
            event_id=ids.new("ev"),
        )
        stored = insert_once(store, VILLAGES, doc, [event], event["id"])
        return Written(201, _village_public(stored))

    return gate.run(action, body=body)


@router.get("/villages", response_model=PageOut[VillagePublic], summary="Villages in scope")
def list_villages(principal: PrincipalDep, request: Request, page: PageDep) -> Any:
    where = principal.village_filter()
    if "village_code" in where:
        where = {"_id": where["village_code"]}
    found = _store(request).find(VILLAGES, where, limit=page.limit, after=checked_cursor(page))
    found.items = [_village_public(d) for d in found.items]
    return page_of(found)


@router.get("/villages/{village_code}", response_model=VillagePublic, summary="One village")
def get_village(village_code: VillageCode, principal: PrincipalDep, request: Request) -> Any:
    require_village(principal, village_code, None)
    doc = _store(request).get(VILLAGES, village_code)
    if doc is None:
        raise Problem(404, f"village {village_code} is not registered")
    return _village_public(doc)


@router.post(
    "/households",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdPublic,
    responses=WRITE_RESPONSES,
    summary="Register a household (KK number hashed on arrival)",
)
def register_household(body: HouseholdCreate, request: Request, gate: WriteGateDep) -> Any:
    require_village(gate.principal, body.village_code, Sector.REGISTRY)
    not_future("occurred_on", body.occurred_on)
    store, vault = _store(request), _vault(request)
    if store.get(VILLAGES, body.village_code) is None:
        raise field_problem("village_code", "village is not registered")

    def action(ids: Ids) -> Written:
        day = today_or(body.occurred_on)
        household_id = body.household_id or ids.new("hh")
        doc: Doc = {
            "_id": household_id,
            "household_id": household_id,
            "village_code": body.village_code,
            "district_code": body.village_code[:4],
            "members": body.members,
            "registered_on": day.isoformat(),
        }
        if body.kk_number is not None:
            doc["kk_hash"] = vault.match_hash(body.kk_number)
            doc["kk_last4"] = vault.last4(body.kk_number)
        if body.head_name is not None:
            doc["head_name_sealed"] = vault.seal(body.head_name)
        event = build_event(
            ev.HouseholdRegistered(
                occurred_on=day,
                household_id=household_id,
                village_code=body.village_code,
                members=body.members,
            ),
            village_code=body.village_code,
            subject=household_id,
            event_id=ids.new("ev"),
        )
        stored = insert_once(store, HOUSEHOLDS, doc, [event], event["id"])
        return Written(201, _household_public(stored, vault))

    return gate.run(action, body=body)


def _household_in_scope(store: Store, principal: Principal, household_id: str) -> Doc:
    doc = store.get(HOUSEHOLDS, household_id)
    if doc is None:
        raise Problem(404, f"household {household_id} not found")
    require_village(principal, doc["village_code"], None)
    return doc


@router.patch(
    "/households/{household_id}",
    response_model=HouseholdPublic,
    responses=WRITE_RESPONSES,
    summary="Update a household's member count (emits household_updated)",
)
def update_household(
    household_id: str, body: HouseholdUpdate, request: Request, gate: WriteGateDep
) -> Any:
    store, vault = _store(request), _vault(request)
    doc = _household_in_scope(store, gate.principal, household_id)
    require_village(gate.principal, doc["village_code"], Sector.REGISTRY)
    not_future("occurred_on", body.occurred_on)

    def action(ids: Ids) -> Written:
        day = today_or(body.occurred_on)
        event = build_event(
            ev.HouseholdUpdated(occurred_on=day, household_id=household_id, members=body.members),
            village_code=doc["village_code"],
            subject=household_id,
            event_id=ids.new("ev"),
        )
        update_once(
            store,
            HOUSEHOLDS,
            household_id,
            {"members": body.members, "updated_on": day.isoformat()},
            [event],
            event["id"],
        )
        return Written(200, _household_public(store.get(HOUSEHOLDS, household_id) or doc, vault))

    return gate.run(action, body=body, params={"household_id": household_id})


@router.get("/households", response_model=PageOut[HouseholdPublic], summary="Households in scope")
def list_households(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: Annotated[str | None, Query(pattern=r"^[0-9]{10}$")] = None,
) -> Any:
    if village_code is not None:
        require_village(principal, village_code, None)
        where: dict[str, Any] = {"village_code": village_code}
    else:
        where = principal.village_filter()
    found = _store(request).find(HOUSEHOLDS, where, limit=page.limit, after=checked_cursor(page))
    vault = _vault(request)
    found.items = [_household_public(d, vault) for d in found.items]
    return page_of(found)


@router.get("/households/{household_id}", response_model=HouseholdPublic, summary="One household")
def get_household(household_id: str, principal: PrincipalDep, request: Request) -> Any:
    doc = _household_in_scope(_store(request), principal, household_id)
    return _household_public(doc, _vault(request))
