"""Registry routes: thin — validate, check scope, hand to the write gate, map to HTTP.

NIK and KK numbers arrive only in request bodies and are kept only as keyed hashes
(``shared.pii``): ``kk_hash`` on the household (one household per KK number in a village),
``nik_hashes`` for its members. ``registry_member_index`` finds a household by a member's
NIK hash; it is written before the household and verified against it on every lookup, so a
write that fails half-way leaves at most a stale candidate that is never answered.
``registry_kk_index`` holds one claim per (village, KK hash), keyed by both: a household
claims its KK number with one atomic insert before it is written, so two registrations of
the same KK number cannot both succeed, and a lookup by KK is one read by key (no scan).
Lookups are limited per token and recorded (``services.registry.lookups``).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from services.registry.lookups import LookupBy, lookup_limiter, record_lookup, record_refusal
from services.registry.models import (
    HouseholdCreate,
    HouseholdMatch,
    HouseholdMatchPublic,
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
from shared.errors import (
    ROUTE_PROBLEMS,
    Problem,
    field_problem,
    problem_doc,
    village_not_registered,
)
from shared.events import catalogue as ev
from shared.events.catalogue import VillageCode
from shared.language import say
from shared.pagination import PageDep, PageOut, checked_cursor, page_of
from shared.pii import PiiVault
from shared.ports.store import CollectionSpec, Doc, Store
from shared.recording import WRITE_RESPONSES

VILLAGES = "registry_villages"
HOUSEHOLDS = "registry_households"
MEMBER_INDEX = "registry_member_index"
KK_INDEX = "registry_kk_index"
COLLECTIONS = (
    CollectionSpec(VILLAGES, indexes=("district_code",), outbox=True),
    CollectionSpec(HOUSEHOLDS, indexes=("village_code", "district_code", "kk_hash"), outbox=True),
    CollectionSpec(MEMBER_INDEX),
    CollectionSpec(KK_INDEX),
)
STALE_KK_CLAIM_S = 120.0  # a household write takes well under this
INDEX_CANDIDATES = 5  # households a NIK was last registered in (newest last)
MATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{k: v for k, v in WRITE_RESPONSES.items() if k != 409},
    403: problem_doc("the token does not cover the village, or the role only reads"),
    404: problem_doc("no household of the village has this NIK or KK number"),
    429: problem_doc("past the token's lookup limit (LUMBUNG_LOOKUP_RATE); see Retry-After"),
    503: problem_doc("the store is unreachable or the lookup could not be recorded"),
}
router = APIRouter(prefix="/registry", tags=["registry"], responses=ROUTE_PROBLEMS)


def _store(request: Request) -> Store:
    return request.app.state.runtime.store


def _vault(request: Request) -> PiiVault:
    return PiiVault(request.app.state.runtime.settings.pii_key)


def _nik_hashes(vault: PiiVault, niks: list[str] | None) -> list[str] | None:
    return None if niks is None else sorted({vault.match_hash(n) for n in niks})


def _index_members(store: Store, village_code: str, household_id: str, hashes: list[str]) -> None:
    """Name the household as the newest candidate for each NIK hash (before it is written)."""
    keys = [f"{village_code}:{h}" for h in hashes]
    found = store.get_many(MEMBER_INDEX, keys)
    for key in keys:
        known = [h for h in found.get(key, {}).get("households", []) if h != household_id]
        households = [*known, household_id][-INDEX_CANDIDATES:]
        store.replace(MEMBER_INDEX, {"_id": key, "households": households})


def _by_nik(store: Store, village_code: str, nik_hash: str) -> Doc | None:
    entry = store.get(MEMBER_INDEX, f"{village_code}:{nik_hash}") or {}
    for household_id in reversed(entry.get("households", [])):
        doc = store.get(HOUSEHOLDS, household_id)
        if doc and doc["village_code"] == village_code and nik_hash in doc.get("nik_hashes", []):
            return doc
    return None


def _kk_key(village_code: str, kk_hash: str) -> str:
    return f"{village_code}:{kk_hash}"


def _kk_holder(store: Store, claim: Doc | None, village_code: str, kk_hash: str) -> Doc | None:
    """The household a KK claim names, if it exists and still carries that KK hash (a claim
    whose household write failed half-way names nothing)."""
    doc = store.get(HOUSEHOLDS, claim["household_id"]) if claim else None
    if doc and doc["village_code"] == village_code and doc.get("kk_hash") == kk_hash:
        return doc
    return None


def _by_kk(store: Store, village_code: str, kk_hash: str) -> Doc | None:
    return _kk_holder(
        store, store.get(KK_INDEX, _kk_key(village_code, kk_hash)), village_code, kk_hash
    )


def _claim_kk(store: Store, village_code: str, kk_hash: str, household_id: str) -> None:
    """Claim the KK number for the household (one atomic insert), or 409 naming the household
    that holds it. A retry of the same write meets its own claim. A claim whose household
    does not exist is either a registration in progress (409 too) or, once older than
    ``STALE_KK_CLAIM_S``, a write cut off half-way: that one is taken over."""
    key = _kk_key(village_code, kk_hash)
    claim = {"_id": key, "household_id": household_id, "at": time.time()}
    held = store.put_if_absent(KK_INDEX, claim)
    if held is None or held.get("household_id") == household_id:
        return
    holder = _kk_holder(store, held, village_code, kk_hash)
    if holder is None and time.time() - float(held.get("at", 0)) > STALE_KK_CLAIM_S:
        store.replace(KK_INDEX, claim)
        return
    held_by = held["household_id"]
    raise field_problem(
        "kk_number",
        say(
            f"sudah terdaftar di desa ini sebagai rumah tangga {held_by}",
            f"already registered in this village as household {held_by}",
        ),
        409,
    )


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
        raise Problem(
            403,
            say(
                "hanya admin kabupaten ini yang mendaftarkan desa-desanya",
                "only the district admin of this district registers its villages",
            ),
        )
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
        raise Problem(404, village_not_registered(village_code))
    return _village_public(doc)


@router.post(
    "/households",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdPublic,
    responses=WRITE_RESPONSES,
    summary="Register a household (KK number and members' NIKs hashed on arrival)",
)
def register_household(body: HouseholdCreate, request: Request, gate: WriteGateDep) -> Any:
    require_village(gate.principal, body.village_code, Sector.REGISTRY)
    not_future("occurred_on", body.occurred_on)
    store, vault = _store(request), _vault(request)
    if store.get(VILLAGES, body.village_code) is None:
        raise field_problem(
            "village_code", say("desa belum terdaftar", "village is not registered")
        )
    nik_hashes = _nik_hashes(vault, body.member_niks)

    def action(ids: Ids) -> Written:
        day = today_or(body.occurred_on)
        household_id = body.household_id or ids.new("hh")
        if body.kk_number is not None:
            _claim_kk(store, body.village_code, vault.match_hash(body.kk_number), household_id)
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
        if nik_hashes is not None:
            doc["nik_hashes"] = nik_hashes
            _index_members(store, body.village_code, household_id, nik_hashes)
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
        raise Problem(
            404,
            say(
                f"rumah tangga {household_id} tidak ditemukan",
                f"household {household_id} not found",
            ),
        )
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
    nik_hashes = _nik_hashes(vault, body.member_niks)

    def action(ids: Ids) -> Written:
        day = today_or(body.occurred_on)
        event = build_event(
            ev.HouseholdUpdated(occurred_on=day, household_id=household_id, members=body.members),
            village_code=doc["village_code"],
            subject=household_id,
            event_id=ids.new("ev"),
        )
        changes: Doc = {"members": body.members, "updated_on": day.isoformat()}
        if nik_hashes is not None:
            changes["nik_hashes"] = nik_hashes
            _index_members(store, doc["village_code"], household_id, nik_hashes)
        update_once(store, HOUSEHOLDS, household_id, changes, [event], event["id"])
        return Written(200, _household_public(store.get(HOUSEHOLDS, household_id) or doc, vault))

    return gate.run(action, body=body, params={"household_id": household_id})


@router.post(
    "/households/match",
    response_model=HouseholdMatchPublic,
    responses=MATCH_RESPONSES,
    summary="Find a household by a member's NIK or its KK number (hashed, never kept or shown)",
)
async def match_household(body: HouseholdMatch, principal: PrincipalDep, request: Request) -> Any:
    """Limited per token (LUMBUNG_LOOKUP_RATE); each lookup is recorded, without the number,
    for the district admin (GET /registry/lookups)."""
    # async for the limiter, which lives on the event loop; the store is used in a thread
    require_village(principal, body.village_code, None)
    if not any(principal.can_write(sector) for sector in Sector):
        raise Problem(
            403,
            say(
                f"peran {principal.role} tidak boleh mencari NIK atau nomor KK",
                f"role {principal.role} may not look up NIK or KK numbers",
            ),
        )
    if (body.nik is None) == (body.kk_number is None):
        raise field_problem(
            "nik",
            say("isi tepat satu dari nik dan kk_number", "give exactly one of nik and kk_number"),
        )
    by: LookupBy = "nik" if body.nik is not None else "kk"
    store = _store(request)
    limiter = lookup_limiter(request.app.state.runtime)
    wait = await limiter.wait_s(principal.scope_key())
    if wait is not None:
        await run_in_threadpool(record_refusal, store, principal, body.village_code, by)
        raise limiter.refusal(wait)
    return await run_in_threadpool(_match, store, _vault(request), principal, body, by)


def _match(
    store: Store, vault: PiiVault, principal: Principal, body: HouseholdMatch, by: LookupBy
) -> dict[str, Any]:
    """The lookup itself, recorded (found or not) before it is answered."""
    if body.kk_number is not None:
        doc = _by_kk(store, body.village_code, vault.match_hash(body.kk_number))
        what = say("nomor KK", "KK number")
    else:
        doc = _by_nik(store, body.village_code, vault.match_hash(body.nik or ""))
        what = say("NIK", "NIK")
    record_lookup(store, principal, body.village_code, by, found=doc is not None)
    if doc is None:
        village = body.village_code
        raise Problem(
            404,
            say(
                f"tidak ada rumah tangga desa {village} dengan {what.id} ini",
                f"no household of village {village} has this {what.en}",
            ),
        )
    wanted = _nik_hashes(vault, body.member_niks)
    return HouseholdMatchPublic(
        household_id=doc["household_id"],
        village_code=doc["village_code"],
        members=doc["members"],
        same_member_niks=None if wanted is None else wanted == doc.get("nik_hashes", []),
    ).model_dump(mode="json")


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
