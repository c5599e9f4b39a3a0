"""Projects events into the read model, idempotently: replaying any event changes nothing.

Walking-skeleton scope: villages and registered households per village. Each household is
one document keyed by its id (an upsert, so a redelivery rewrites the same values), and the
per-village view is recomputed from those documents for the villages a batch touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.events.catalogue import HouseholdRegistered, Payload, VillageRegistered
from shared.events.envelope import CloudEvent
from shared.observability import EVENTS_CONSUMED
from shared.ports.store import BulkUpsert, CollectionSpec, Doc, Store

HOUSEHOLDS = "agg_households"
VILLAGES = "agg_villages"
VILLAGE_VIEWS = "agg_village_views"
COLLECTIONS = (
    CollectionSpec(HOUSEHOLDS, indexes=("village_code",)),
    CollectionSpec(VILLAGES, indexes=("district_code",)),
    CollectionSpec(VILLAGE_VIEWS, indexes=("district_code",)),
)


class Projector:
    def __init__(self, store: Store) -> None:
        self.store = store

    def apply(self, events: Sequence[tuple[CloudEvent, Payload]]) -> None:
        households: dict[str, Doc] = {}
        villages: dict[str, Doc] = {}
        touched: set[str] = set()
        for envelope, payload in events:
            EVENTS_CONSUMED.labels(envelope.type).inc()
            if isinstance(payload, VillageRegistered):
                villages[payload.village_code] = {
                    "_id": payload.village_code,
                    "village_code": payload.village_code,
                    "name": payload.name,
                    "district_code": payload.district_code,
                }
                touched.add(payload.village_code)
            elif isinstance(payload, HouseholdRegistered):
                current = households.get(payload.household_id) or self.store.get(
                    HOUSEHOLDS, payload.household_id
                )
                households[payload.household_id] = {
                    "_id": payload.household_id,
                    "village_code": payload.village_code,
                    "members": (current or {}).get("members", payload.members),
                    "registered": True,
                }
                touched.add(payload.village_code)
        self.store.bulk_replace(
            [BulkUpsert(HOUSEHOLDS, d) for d in households.values()]
            + [BulkUpsert(VILLAGES, d) for d in villages.values()]
        )
        self._refresh_villages(touched)

    def _refresh_villages(self, codes: set[str]) -> None:
        views = [
            BulkUpsert(
                VILLAGE_VIEWS,
                {
                    "_id": code,
                    "village_code": code,
                    "district_code": code[:4],
                    "households_registered": self.store.count(HOUSEHOLDS, {"village_code": code}),
                },
            )
            for code in sorted(codes)
        ]
        self.store.bulk_replace(views)
