"""The agriculture service as a unit the app factory can mount."""

from services.agriculture.routes import COLLECTIONS, router
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="agriculture", router=router, collections=COLLECTIONS, title="Lumbung Agriculture"
)
