"""Resilience routes, answered from precomputed read-model documents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.aggregator.projector import VILLAGE_VIEWS
from shared.auth import PrincipalDep, require_village
from shared.errors import Problem
from shared.events.catalogue import VillageCode

router = APIRouter(prefix="/resilience", tags=["resilience"])


class VillageView(BaseModel):
    village_code: str
    households_registered: int


@router.get("/villages/{village_code}", response_model=VillageView, summary="Village view")
def village_view(village_code: VillageCode, principal: PrincipalDep, request: Request) -> Any:
    require_village(principal, village_code, None)
    doc = request.app.state.runtime.store.get(VILLAGE_VIEWS, village_code)
    if doc is None:
        raise Problem(404, f"no data for village {village_code} yet")
    return VillageView.model_validate(doc).model_dump()
