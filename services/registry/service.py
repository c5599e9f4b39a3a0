"""The registry service as a unit the app factory can mount: villages and households, each
village's IDM per year, and the record of NIK/KK lookups."""

from fastapi import APIRouter

from services.registry import idm, lookups
from services.registry.routes import COLLECTIONS
from services.registry.routes import router as records_router
from shared.runtime import ServiceSpec

router = APIRouter()
router.include_router(records_router)
router.include_router(idm.router)
router.include_router(lookups.router)

SERVICE = ServiceSpec(
    name="registry",
    router=router,
    collections=(*COLLECTIONS, *idm.COLLECTIONS, *lookups.COLLECTIONS),
    title="Lumbung Registry",
)
