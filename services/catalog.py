"""Every service by name: the one list the embedded app, the CLI and the tests read."""

from __future__ import annotations

from services.aggregator.service import SERVICE as AGGREGATOR
from services.agriculture.service import SERVICE as AGRICULTURE
from services.commerce.service import SERVICE as COMMERCE
from services.livestock.service import SERVICE as LIVESTOCK
from services.registry.service import SERVICE as REGISTRY
from services.training.service import SERVICE as TRAINING
from shared.runtime import ServiceSpec

SERVICES: dict[str, ServiceSpec] = {
    s.name: s for s in (REGISTRY, TRAINING, COMMERCE, AGRICULTURE, LIVESTOCK, AGGREGATOR)
}
DOMAIN_SERVICES = ("registry", "training", "commerce", "agriculture", "livestock")
