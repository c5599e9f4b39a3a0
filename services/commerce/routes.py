"""Commerce routes (to be filled in)."""

from __future__ import annotations

from fastapi import APIRouter

from shared.ports.store import CollectionSpec

router = APIRouter(prefix="/commerce", tags=["commerce"])
COLLECTIONS: tuple[CollectionSpec, ...] = ()
