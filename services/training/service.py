"""The training service as a unit the app factory can mount."""

from services.training.routes import COLLECTIONS, router
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="training", router=router, collections=COLLECTIONS, title="Lumbung Training"
)
