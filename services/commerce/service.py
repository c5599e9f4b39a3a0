"""The commerce service as a unit the app factory can mount."""

from services.commerce.routes import COLLECTIONS, HOUSEHOLDS, router
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="commerce",
    router=router,
    collections=COLLECTIONS,
    workers=lambda runtime: [HOUSEHOLDS.worker(runtime)],
    title="Lumbung Commerce",
)
