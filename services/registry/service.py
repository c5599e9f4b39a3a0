"""The registry service as a unit the app factory can mount."""

from services.registry.routes import COLLECTIONS, router
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="registry", router=router, collections=COLLECTIONS, title="Lumbung Registry"
)
