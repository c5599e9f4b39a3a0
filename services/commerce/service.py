"""The commerce service as a unit the app factory can mount."""

from services.commerce.routes import COLLECTIONS, router
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="commerce", router=router, collections=COLLECTIONS, title="Lumbung Commerce"
)
