"""Which village each household is registered in: the reference data every domain service
keeps for itself, so that a fact counts only for a household of its own village.

Each service (training, commerce, agriculture, livestock) builds its own copy of
household -> village from the registry's ``household_registered`` events, in its own store,
with a consumer group of its own (``<LUMBUNG_HOUSEHOLDS_GROUP>-<service>``). This is the usual
replication of reference data between services: a write never calls the registry.

A write that names a household checks it here (``Households.check``):

- a household the service has not heard of yet is accepted (an offline client registers a
  household and its facts together; the copy may also lag the registry a moment). The
  aggregator applies the same rule again to every fact, whatever the writer did, and sets
  aside a fact whose village is not its household's (``services.aggregator.domain.ledger``);
- a household registered in a village the token does not cover is a 403, and one
  registered in another village than the body names is a 422; both name the field, record
  nothing, and are kept in ``<service>_refused_writes`` (who, when, which route, which
  household; never the body's values), where the household's district admin lists them at
  ``GET /<service>/refused-writes``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shared.auth import Principal, PrincipalDep, district_admin_scope
from shared.commands import WriteGate
from shared.consumer import ConsumerWorker
from shared.errors import field_problem, problem_doc
from shared.events import catalogue as ev
from shared.events.catalogue import Payload
from shared.events.envelope import VILLAGE_CODE_PATTERN, CloudEvent, topic_for
from shared.language import say
from shared.pagination import PageDep, PageOut, checked_cursor, page_of
from shared.ports.store import BulkUpsert, CollectionSpec, Doc, Store

REGISTRY_TOPIC = topic_for("registry")


def _order_key(envelope: CloudEvent, payload: ev.HouseholdRegistered) -> list[str]:
    """The aggregator's order of registrations (the latest one decides): day, recording
    time in UTC with microseconds, village."""
    moment = envelope.time if envelope.time.tzinfo else envelope.time.replace(tzinfo=UTC)
    recorded = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return [payload.occurred_on.isoformat(), recorded, payload.village_code]


class RefusedWrite(BaseModel):
    household_id: str
    village_code: str = Field(description="the village the household is registered in")
    district_code: str
    named_village_code: str = Field(description="the village the refused write named")
    route: str
    writer_role: str
    writer: str = Field(description="the token's subject")
    at: str
    reason: str


class HouseholdCopy:
    """The consumer's handler: folds registrations into the service's copy (idempotent and
    order-independent: the latest registration by ``_order_key`` wins)."""

    def __init__(self, store: Store, collection: str) -> None:
        self.store = store
        self.collection = collection

    def apply(
        self, events: Sequence[tuple[CloudEvent, Payload]], *, backlog: int | None = None
    ) -> None:
        newest: dict[str, list[str]] = {}
        for envelope, payload in events:
            if isinstance(payload, ev.HouseholdRegistered):
                key = _order_key(envelope, payload)
                if key > newest.get(payload.household_id, []):
                    newest[payload.household_id] = key
        if not newest:
            return
        stored = self.store.get_many(self.collection, newest)
        self.store.bulk_replace(
            [
                BulkUpsert(self.collection, {"_id": hh, "village_code": key[2], "key": key})
                for hh, key in newest.items()
                if key > stored.get(hh, {}).get("key", [])
            ]
        )

    def tick(self) -> None:
        """Nothing to do between polls."""


class Households:
    """One service's copy of household -> village, its check and its refusal record."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.collection = f"{service}_household_villages"
        self.refusals = f"{service}_refused_writes"

    def collections(self) -> tuple[CollectionSpec, ...]:
        return (
            CollectionSpec(self.collection),
            CollectionSpec(self.refusals, indexes=("district_code", "village_code")),
        )

    def worker(self, runtime: Any) -> ConsumerWorker:
        """The consumer that keeps the copy; the aggregator dead-letters what is invalid."""
        return ConsumerWorker(
            runtime.bus,
            f"{runtime.settings.households_group}-{self.service}",
            [REGISTRY_TOPIC],
            HouseholdCopy(runtime.store, self.collection),
            batch=runtime.settings.consumer_batch,
            publish_dead_letters=False,
            report_lag=False,  # the registry topic's lag gauge stays the aggregator's
        )

    def village_of(self, store: Store, household_id: str) -> str | None:
        doc = store.get(self.collection, household_id)
        return None if doc is None else doc["village_code"]

    def elsewhere(self, store: Store, events: Sequence[tuple[CloudEvent, Payload]]) -> set[str]:
        """The ids of the events that name a household known to be registered in another
        village than theirs (a consumer of facts leaves them out, as the aggregator does)."""
        named = {getattr(p, "household_id", None) for _, p in events} - {None}
        homes = store.get_many(self.collection, named) if named else {}
        return {
            envelope.id
            for envelope, payload in events
            if (home := homes.get(getattr(payload, "household_id", None) or "")) is not None
            and home["village_code"] != envelope.villagecode
        }

    def check(
        self, gate: WriteGate, household_id: str, village_code: str, *, field: str = "household_id"
    ) -> None:
        """Refuse a write about ``household_id`` in ``village_code`` when the household is
        known to be registered outside the token's scope (403) or in another village (422);
        a household not heard of yet passes."""
        store, principal = gate.store, gate.principal
        registered = self.village_of(store, household_id)
        if registered is None or registered == village_code:
            return
        self._keep_refusal(store, principal, gate.route_key, household_id, registered, village_code)
        if not principal.covers_village(registered):
            raise field_problem(
                field,
                say(
                    "bukan rumah tangga dari desa yang dicakup token ini",
                    "is not a household of a village this token covers",
                ),
                403,
            )
        raise field_problem(
            field,
            say(
                f"terdaftar di desa {registered}, bukan di desa {village_code}",
                f"is registered in village {registered}, not in village {village_code}",
            ),
        )

    def check_parent(self, gate: WriteGate, parent: Doc) -> None:
        """The same rule for a fact of a parent record (business, plot, herd, enrolment),
        which carries its household and village."""
        self.check(gate, parent["household_id"], parent["village_code"])

    def _keep_refusal(
        self,
        store: Store,
        principal: Principal,
        route: str,
        household_id: str,
        registered: str,
        named: str,
    ) -> None:
        store.replace(
            self.refusals,
            {
                "_id": f"ref-{uuid.uuid4().hex[:20]}",
                "household_id": household_id,
                "village_code": registered,
                "district_code": registered[:4],
                "named_village_code": named,
                "route": route,
                "writer_role": str(principal.role),
                "writer": principal.sub,
                "at": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="seconds"),
                "reason": "other_village",
            },
        )

    def add_routes(self, router: APIRouter) -> None:
        """``GET /<service>/refused-writes``: what was refused about the district's
        households, for the district's admin."""
        refusals = self.refusals

        @router.get(
            "/refused-writes",
            response_model=PageOut[RefusedWrite],
            responses={403: problem_doc("only the admin of the households' district")},
            summary="Writes refused because they named a household of another village "
            "(for the admin of the household's district)",
        )
        def refused_writes(
            principal: PrincipalDep,
            request: Request,
            page: PageDep,
            village_code: Annotated[str | None, Query(pattern=VILLAGE_CODE_PATTERN)] = None,
        ) -> Any:
            where = district_admin_scope(
                principal, village_code, say("penulisan yang ditolak", "the refused writes")
            )
            store: Store = request.app.state.runtime.store
            found = store.find(refusals, where, limit=page.limit, after=checked_cursor(page))
            found.items = [{k: v for k, v in d.items() if k != "_id"} for d in found.items]
            return page_of(found)
