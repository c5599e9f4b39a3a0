"""The livestock service as a unit the app factory can mount."""

from services.livestock.routes import COLLECTIONS, HOUSEHOLDS, router
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="livestock",
    router=router,
    collections=COLLECTIONS,
    workers=lambda runtime: [HOUSEHOLDS.worker(runtime)],
    title="Lumbung Livestock",
)
