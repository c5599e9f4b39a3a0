"""Training routes: programmes, the households enrolled in them, and what each one did.

A programme may run in several villages of one district. Its document carries the first
village as ``village_code`` (the village of its event) and all of them as ``village_codes``;
a token sees a programme when it covers any of its villages. Enrolments and their facts
belong to the household's village, so a village operator sees only their own trainees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.training.models import (
    AssessmentCreate,
    AssessmentPublic,
    AttendanceCreate,
    AttendancePublic,
    ConfidenceCreate,
    ConfidencePublic,
    EnrolmentCreate,
    EnrolmentPublic,
    FactCreate,
    FactKind,
    MentoringCreate,
    MentoringPublic,
    ProgramCreate,
    ProgramPublic,
    RecordedFactPublic,
)
from shared.adapters.docs import encode_cursor
from shared.auth import NO_PROGRAMME_VILLAGE, Principal, PrincipalDep, Sector, require_village
from shared.commands import WriteGate, WriteGateDep, today_or
from shared.errors import ROUTE_PROBLEMS, Problem, field_problem
from shared.events import catalogue as ev
from shared.events.envelope import VILLAGE_CODE_PATTERN
from shared.households import Households
from shared.language import say
from shared.pagination import PageDep, PageOut, PageParams, checked_cursor
from shared.pii import PiiVault
from shared.ports.store import CollectionSpec, Doc, Store, scan
from shared.recording import (
    build_from,
    data_fields,
    list_in_scope,
    load_in_scope,
    payload_from,
    public_view,
    record,
    store_of,
    write_route,
)

PROGRAMS = "training_programs"
ENROLMENTS = "training_enrolments"
FACTS = "training_facts"
HOUSEHOLDS = Households("training")
COLLECTIONS: tuple[CollectionSpec, ...] = (
    *HOUSEHOLDS.collections(),
    CollectionSpec(PROGRAMS, indexes=("district_code",), outbox=True),
    CollectionSpec(
        ENROLMENTS,
        indexes=("program_id", "household_id", "village_code", "district_code"),
        outbox=True,
    ),
    CollectionSpec(
        FACTS, indexes=("enrolment_id", "village_code", "district_code", "fact"), outbox=True
    ),
)
router = APIRouter(prefix="/training", tags=["training"], responses=ROUTE_PROBLEMS)
HOUSEHOLDS.add_routes(router)

# Leading underscore: public_view (and so every answer) leaves the ciphertext out.
SEALED_NAME = "_participant_name_sealed"
VillageQuery = Annotated[str | None, Query(pattern=VILLAGE_CODE_PATTERN)]
HouseholdQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


def _vault(request: Request) -> PiiVault:
    return PiiVault(request.app.state.runtime.settings.pii_key)


def _enrolment_id(program_id: str, household_id: str) -> str:
    # "/" is not allowed in either id, so the pair is unambiguous and one per household.
    return f"{program_id}/{household_id}"


# programmes --------------------------------------------------------------------------------
def _sees_program(principal: Principal, program: Doc) -> bool:
    return any(principal.covers_village(code) for code in program["village_codes"])


def _program_in_scope(store: Store, principal: Principal, program_id: str) -> Doc:
    program = store.get(PROGRAMS, program_id)
    if program is None:
        raise Problem(
            404, say(f"program {program_id} tidak ditemukan", f"program {program_id} not found")
        )
    if not _sees_program(principal, program):
        raise Problem(403, NO_PROGRAMME_VILLAGE)
    return program


@write_route(
    router,
    "/programs",
    ProgramPublic,
    "Create a training programme in one or more villages (emits program_created)",
)
def create_program(body: ProgramCreate, request: Request, gate: WriteGateDep) -> JSONResponse:
    for code in body.village_codes:
        require_village(gate.principal, code, Sector.TRAINING)
    return record(
        gate,
        store_of(request),
        body=body,
        collection=PROGRAMS,
        id_field="program_id",
        id_prefix="prog",
        village_code=body.village_codes[0],
        build=build_from(ev.ProgramCreated, body, id_as="program_id"),
        subject=None,
        given_id=body.program_id,
        occurred_on=body.occurred_on,
    )


def _districts(principal: Principal) -> list[str]:
    own = {principal.district} if principal.district is not None else set()
    return sorted(own | {code[:4] for code in principal.villages})


def _programs_page(
    store: Store, page: PageParams, districts: list[str], wanted: Callable[[str], bool]
) -> dict[str, object]:
    """One page of the districts' programmes that run in a wanted village.

    The store cannot match inside ``village_codes``, so this walks the districts' programmes
    in id order and keeps the matching ones; the cursor is the last kept id, so the next page
    resumes right after it, and it is null only when no match is left.
    """
    kept: list[Doc] = []
    for doc in scan(store, PROGRAMS, {"district_code": districts}, checked_cursor(page)):
        if any(wanted(code) for code in doc["village_codes"]):
            if len(kept) == page.limit:
                return {"items": kept, "next_cursor": encode_cursor(kept[-1]["program_id"])}
            kept.append(public_view(doc))
    return {"items": kept, "next_cursor": None}


@router.get(
    "/programs",
    response_model=PageOut[ProgramPublic],
    summary="Programmes running in the token's villages (or in one of them)",
)
def list_programs(
    principal: PrincipalDep, request: Request, page: PageDep, village_code: VillageQuery = None
) -> Any:
    store = store_of(request)
    if village_code is None:
        return _programs_page(store, page, _districts(principal), principal.covers_village)
    require_village(principal, village_code, None)
    return _programs_page(store, page, [village_code[:4]], lambda code: code == village_code)


@router.get("/programs/{program_id}", response_model=ProgramPublic, summary="One programme")
def get_program(program_id: str, principal: PrincipalDep, request: Request) -> Any:
    return public_view(_program_in_scope(store_of(request), principal, program_id))


# enrolments --------------------------------------------------------------------------------
def _enrolment_view(vault: PiiVault) -> Callable[[Doc], dict[str, Any]]:
    def view(doc: Doc) -> dict[str, Any]:
        sealed = doc.get(SEALED_NAME)
        return {**public_view(doc), "participant_name": vault.open(sealed) if sealed else None}

    return view


@write_route(
    router,
    "/programs/{program_id}/enrolments",
    EnrolmentPublic,
    "Enrol a household in a programme (emits participant_enrolled)",
)
def enrol(
    program_id: str, body: EnrolmentCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    store, vault = store_of(request), _vault(request)
    program = _program_in_scope(store, gate.principal, program_id)
    require_village(gate.principal, body.village_code, Sector.TRAINING)
    if body.village_code not in program["village_codes"]:
        raise field_problem(
            "village_code",
            say("bukan salah satu desa program ini", "is not one of the programme's villages"),
        )
    HOUSEHOLDS.check(gate, body.household_id, body.village_code)

    def build(_enrolment_id: str, day: date) -> tuple[dict[str, Any], ev.Payload]:
        payload = payload_from(ev.ParticipantEnrolled, body, day, program_id=program_id)
        fields = data_fields(payload)
        if body.participant_name is not None:
            fields[SEALED_NAME] = vault.seal(body.participant_name)
        return fields, payload

    return record(
        gate,
        store,
        body=body,
        collection=ENROLMENTS,
        id_field="enrolment_id",
        id_prefix="enr",
        village_code=body.village_code,
        build=build,
        subject=body.household_id,
        given_id=_enrolment_id(program_id, body.household_id),
        occurred_on=body.occurred_on,
        params={"program_id": program_id},
    )


@router.get(
    "/programs/{program_id}/enrolments",
    response_model=PageOut[EnrolmentPublic],
    summary="Households enrolled in a programme, in the token's villages",
)
def list_program_enrolments(
    program_id: str,
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: VillageQuery = None,
) -> Any:
    store = store_of(request)
    _program_in_scope(store, principal, program_id)
    return list_in_scope(
        store,
        ENROLMENTS,
        principal,
        page,
        village_code=village_code,
        where={"program_id": program_id},
        view=_enrolment_view(_vault(request)),
    )


def _enrolment_in_scope(
    store: Store, principal: Principal, program_id: str, household_id: str
) -> Doc:
    _program_in_scope(store, principal, program_id)
    eid = _enrolment_id(program_id, household_id)
    return load_in_scope(store, ENROLMENTS, eid, principal, what=say("kepesertaan", "enrolment"))


@router.get(
    "/programs/{program_id}/enrolments/{household_id}",
    response_model=EnrolmentPublic,
    summary="One household's enrolment in a programme",
)
def get_enrolment(
    program_id: str, household_id: str, principal: PrincipalDep, request: Request
) -> Any:
    doc = _enrolment_in_scope(store_of(request), principal, program_id, household_id)
    return _enrolment_view(_vault(request))(doc)


@router.get(
    "/programs/{program_id}/enrolments/{household_id}/facts",
    response_model=PageOut[RecordedFactPublic],
    response_model_exclude_none=True,
    summary="What was recorded for one enrolment: attendance, assessments, confidence, mentoring",
)
def list_enrolment_facts(
    program_id: str,
    household_id: str,
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    fact: FactKind | None = None,
) -> Any:
    store = store_of(request)
    enrolment = _enrolment_in_scope(store, principal, program_id, household_id)
    where = {"enrolment_id": enrolment["enrolment_id"]}
    if fact is not None:
        where["fact"] = fact
    return list_in_scope(store, FACTS, principal, page, where=where)


@router.get(
    "/enrolments",
    response_model=PageOut[EnrolmentPublic],
    summary="Enrolments in the token's villages, e.g. every programme one household joined",
)
def list_enrolments(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: VillageQuery = None,
    household_id: HouseholdQuery = None,
) -> Any:
    where = {"household_id": household_id} if household_id is not None else {}
    return list_in_scope(
        store_of(request),
        ENROLMENTS,
        principal,
        page,
        village_code=village_code,
        where=where,
        view=_enrolment_view(_vault(request)),
    )


# facts of an enrolment ---------------------------------------------------------------------
def _enrolment_for(store: Store, program_id: str, body: FactCreate) -> Doc:
    enrolment = store.get(ENROLMENTS, _enrolment_id(program_id, body.household_id))
    if enrolment is None:
        raise field_problem(
            "household_id",
            say("tidak terdaftar di program ini", "is not enrolled in this programme"),
        )
    if enrolment["village_code"] != body.village_code:
        raise field_problem(
            "village_code",
            say(
                "bukan desa tempat rumah tangga ini didaftarkan",
                "is not the village the household was enrolled in",
            ),
        )
    return enrolment


def _record_fact(
    request: Request,
    gate: WriteGate,
    program_id: str,
    body: FactCreate,
    fact: FactKind,
    model: type[ev.Payload],
    check: Callable[[Doc], None] = lambda _program: None,
) -> JSONResponse:
    """Record one fact of an enrolled household, in the village it was enrolled in."""
    store = store_of(request)
    program = _program_in_scope(store, gate.principal, program_id)
    require_village(gate.principal, body.village_code, Sector.TRAINING)
    enrolment = _enrolment_for(store, program_id, body)
    HOUSEHOLDS.check_parent(gate, enrolment)
    check(program)
    doc = {"fact": fact, "enrolment_id": enrolment["enrolment_id"]}
    build = build_from(model, body, doc=doc, program_id=program_id)
    return record(
        gate,
        store,
        body=body,
        collection=FACTS,
        id_field="fact_id",
        id_prefix="fact",
        village_code=body.village_code,
        build=build,
        subject=body.household_id,
        occurred_on=body.occurred_on,
        params={"program_id": program_id},
    )


def _fact_route(path: str, model: type[BaseModel], summary: str) -> Callable[[Any], Any]:
    return write_route(router, f"/programs/{{program_id}}/{path}", model, summary)


def _during_programme(day: date | None) -> Callable[[Doc], None]:
    def check(program: Doc) -> None:
        start, end = program["start_on"], program["end_on"]
        if not start <= today_or(day).isoformat() <= end:
            raise field_problem(
                "occurred_on",
                say(
                    f"harus dalam masa program, {start}..{end}",
                    f"must fall within the programme, {start}..{end}",
                ),
            )

    return check


@_fact_route("attendance", AttendancePublic, "Record a session attended (attendance_recorded)")
def record_attendance(
    program_id: str, body: AttendanceCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    # Sessions happen between the programme's first and last day; anything else is a typo.
    return _record_fact(
        request,
        gate,
        program_id,
        body,
        "attendance",
        ev.AttendanceRecorded,
        _during_programme(body.occurred_on),
    )


@_fact_route("assessments", AssessmentPublic, "Record a pre or post test (assessment_recorded)")
def record_assessment(
    program_id: str, body: AssessmentCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    return _record_fact(request, gate, program_id, body, "assessment", ev.AssessmentRecorded)


@_fact_route(
    "confidence", ConfidencePublic, "Record confidence to sell online, 1-5 (confidence_recorded)"
)
def record_confidence(
    program_id: str, body: ConfidenceCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    return _record_fact(request, gate, program_id, body, "confidence", ev.ConfidenceRecorded)


@_fact_route("mentoring", MentoringPublic, "Record a mentoring visit (mentoring_visit_recorded)")
def record_mentoring(
    program_id: str, body: MentoringCreate, request: Request, gate: WriteGateDep
) -> JSONResponse:
    return _record_fact(
        request, gate, program_id, body, "mentoring_visit", ev.MentoringVisitRecorded
    )
