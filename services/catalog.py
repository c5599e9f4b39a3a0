"""Every service by name: the one list the embedded app, the CLI and the tests read."""

from __future__ import annotations

from services.aggregator.service import SERVICE as AGGREGATOR
from services.registry.service import SERVICE as REGISTRY
from shared.runtime import ServiceSpec

SERVICES: dict[str, ServiceSpec] = {s.name: s for s in (REGISTRY, AGGREGATOR)}
