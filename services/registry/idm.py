"""A village's IDM (Indeks Desa Membangun, Kemendesa) per year: recorded once per year.

``POST /registry/villages/{village_code}/idm`` takes the numbers of one year's IDM document
(``shared.integrations.idm`` reads them from the IDM open API's ``rumusan`` answer): the
social, economic and ecological indices, their mean and the status. One document per
(village, year), so re-importing the same year is idempotent by construction:

- a new year: 201 and ``idm_recorded``;
- the same numbers again: 200 with what is stored, no event;
- other numbers for a year already recorded (Kemendesa revised them): 200, the document is
  updated and ``idm_recorded`` is emitted again; the aggregator keeps the latest.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.registry.routes import VILLAGES
from shared.auth import PrincipalDep, Sector, require_village
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
from shared.errors import ROUTE_PROBLEMS, Problem, field_problem, village_not_registered
from shared.events import catalogue as ev
from shared.events.catalogue import Day, IdmStatus, IndexShare, VillageCode
from shared.language import Text, say
from shared.ports.store import CollectionSpec, Doc
from shared.recording import WRITE_RESPONSES, public_view, store_of

IDM = "registry_idm"
COLLECTIONS = (CollectionSpec(IDM, indexes=("village_code", "district_code"), outbox=True),)
FIELDS = ("year", "iks", "ike", "ikl", "score", "status", "target_status", "indicators")
SCORE_TOLERANCE = 0.0005  # the published score is the mean of three rounded indices
router = APIRouter(prefix="/registry", tags=["registry"], responses=ROUTE_PROBLEMS)


class IdmCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "year": 2024,
                    "iks": 0.8114,
                    "ike": 0.6167,
                    "ikl": 0.6667,
                    "score": 0.6983,
                    "status": "berkembang",
                    "target_status": "maju",
                    "indicators": 50,
                }
            ]
        },
    )
    year: Annotated[int, Field(ge=2015, le=2100)]
    iks: IndexShare
    ike: IndexShare
    ikl: IndexShare
    score: IndexShare = Field(description="IDM score: the mean of IKS, IKE and IKL")
    status: IdmStatus
    target_status: IdmStatus | None = None
    indicators: Annotated[int, Field(ge=0, le=200)] = 0
    occurred_on: Day | None = None

    def score_problem(self) -> Text | None:
        """Why ``score`` is not the mean of the three indices, or None."""
        mean = (self.iks + self.ike + self.ikl) / 3
        if abs(mean - self.score) > SCORE_TOLERANCE:
            return say(
                f"harus sama dengan rata-rata iks, ike, dan ikl ({mean:.4f})",
                f"must be the mean of iks, ike and ikl ({mean:.4f})",
            )
        return None


class IdmPublic(BaseModel):
    village_code: str
    year: int
    iks: float
    ike: float
    ikl: float
    score: float
    status: str
    target_status: str | None = None
    indicators: int
    occurred_on: date


class IdmList(BaseModel):
    items: list[IdmPublic]


def _public(doc: Doc) -> dict[str, Any]:
    return IdmPublic.model_validate(doc).model_dump(mode="json")


@router.post(
    "/villages/{village_code}/idm",
    status_code=status.HTTP_201_CREATED,
    response_model=IdmPublic,
    responses={**WRITE_RESPONSES, 200: {"description": "the year was already recorded"}},
    summary="Record a village's IDM for one year (emits idm_recorded; idempotent per year)",
)
def record_idm(
    village_code: VillageCode, body: IdmCreate, request: Request, gate: WriteGateDep
) -> Any:
    require_village(gate.principal, village_code, Sector.REGISTRY)
    not_future("occurred_on", body.occurred_on)
    if (reason := body.score_problem()) is not None:
        raise field_problem("score", reason)
    store = store_of(request)
    if store.get(VILLAGES, village_code) is None:
        raise Problem(404, village_not_registered(village_code))
    values = body.model_dump(mode="json", include=set(FIELDS))
    doc_id = f"{village_code}|{body.year}"

    def action(ids: Ids) -> Written:
        day = today_or(body.occurred_on)
        event = build_event(
            ev.IdmRecorded(occurred_on=day, village_code=village_code, **values),
            village_code=village_code,
            subject=None,
            event_id=ids.new("ev"),
        )
        existing = store.get(IDM, doc_id)
        if existing is None:
            doc = {
                "_id": doc_id,
                "village_code": village_code,
                "district_code": village_code[:4],
                "occurred_on": day.isoformat(),
                **values,
            }
            return Written(201, _public(insert_once(store, IDM, doc, [event], event["id"])))
        if all(existing.get(k) == v for k, v in values.items()):
            return Written(200, _public(existing))
        changed = {**values, "occurred_on": day.isoformat()}
        update_once(store, IDM, doc_id, changed, [event], event["id"])
        return Written(200, _public({**existing, **changed}))

    return gate.run(action, body=body, params={"village_code": village_code})


@router.get(
    "/villages/{village_code}/idm",
    response_model=IdmList,
    summary="A village's recorded IDM years, oldest first",
)
def list_idm(village_code: VillageCode, principal: PrincipalDep, request: Request) -> Any:
    require_village(principal, village_code, None)
    page = store_of(request).find(IDM, {"village_code": village_code}, limit=200)
    items = sorted((public_view(d) for d in page.items), key=lambda d: d["year"])
    return {"items": [_public(d) for d in items]}
