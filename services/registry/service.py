"""The registry service as a unit the app factory can mount: villages and households, and
each village's IDM per year."""

from fastapi import APIRouter

from services.registry import idm
from services.registry.routes import COLLECTIONS
from services.registry.routes import router as records_router
from shared.runtime import ServiceSpec

router = APIRouter()
router.include_router(records_router)
router.include_router(idm.router)

SERVICE = ServiceSpec(
    name="registry",
    router=router,
    collections=(*COLLECTIONS, *idm.COLLECTIONS),
    title="Lumbung Registry",
)
