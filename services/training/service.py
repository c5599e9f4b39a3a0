"""The training service as a unit the app factory can mount."""

from services.training.routes import COLLECTIONS, HOUSEHOLDS, router
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="training",
    router=router,
    collections=COLLECTIONS,
    workers=lambda runtime: [HOUSEHOLDS.worker(runtime)],
    title="Lumbung Training",
)
