"""Write commands: Idempotency-Key handling, deterministic ids and events in the outbox.

A write is one atomic document write that carries its events (see ``shared.ports.store``).
With an ``Idempotency-Key`` the flow is claim -> write -> complete:

1. claim the key (insert-if-absent); a claim with another request fingerprint is a 409,
   a completed claim returns the first answer and records nothing new;
2. perform the write with ids derived from the claim, so a retry after a crash in between
   meets its own earlier write (DuplicateId / already_applied) instead of writing twice;
3. store the answer on the claim.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.auth import Principal, current_principal
from shared.errors import Problem, field_problem
from shared.events.catalogue import MODEL_TYPES, Payload
from shared.events.envelope import CloudEvent, utcnow
from shared.language import say
from shared.observability import EVENTS_WRITTEN
from shared.pii import PiiVault, vault_for
from shared.ports.store import COMMANDS, Doc, DuplicateId, Store, UpdateOutcome
from shared.ratelimit import WriteLimiter

_NAMESPACE = uuid.UUID("6f1d3c1e-3b55-4c53-9a0f-6c756d62756e")
IDEMPOTENCY_COLLECTION = "idempotency"
MAX_KEY_LENGTH = 100


class Ids:
    """Ids for one command: random, or derived from an idempotency claim so a redo reuses them."""

    def __init__(self, seed: str | None = None) -> None:
        self._seed = seed
        self._issued: dict[str, int] = {}

    def new(self, prefix: str) -> str:
        if self._seed is None:
            return f"{prefix}-{uuid.uuid4().hex[:20]}"
        n = self._issued[prefix] = self._issued.get(prefix, 0) + 1
        return f"{prefix}-{uuid.uuid5(_NAMESPACE, f'{self._seed}/{prefix}/{n}').hex[:20]}"


@dataclass(frozen=True)
class Written:
    status: int
    body: Any


def build_event(payload: Payload, *, village_code: str, subject: str | None, event_id: str) -> Doc:
    """The wire form of one CloudEvent for a payload model from the catalogue."""
    etype = MODEL_TYPES[type(payload)]
    service = etype.split(".")[1]
    return CloudEvent(
        id=event_id,
        source=f"/lumbung/{service}",
        type=etype,
        time=utcnow(),
        subject=subject,
        villagecode=village_code,
        data=payload.model_dump(mode="json", exclude_none=True),
    ).to_wire()


def _count_events(events: Sequence[Doc]) -> None:
    for event in events:
        EVENTS_WRITTEN.labels(event["source"].rsplit("/", 1)[-1], event["type"]).inc()


def insert_once(
    store: Store, collection: str, doc: Doc, events: Sequence[Doc], command_id: str
) -> Doc:
    """Insert a new record with its events; a redo of the same command returns the record."""
    try:
        store.insert(collection, doc, events=events, command_id=command_id)
    except DuplicateId as dup:
        if command_id in dup.existing.get(COMMANDS, []):
            return dup.existing
        used = doc["_id"]
        raise Problem(
            409,
            say(
                f"id {used} sudah dipakai oleh catatan lain",
                f"id {used} is already used by another record",
            ),
        ) from None
    _count_events(events)
    return doc


def update_once(
    store: Store,
    collection: str,
    doc_id: str,
    set_fields: Mapping[str, Any],
    events: Sequence[Doc],
    command_id: str,
) -> UpdateOutcome:
    outcome = store.update(
        collection, doc_id, set_fields=set_fields, events=events, command_id=command_id
    )
    if outcome == "missing":
        raise Problem(404, say(f"{doc_id} tidak ditemukan", f"{doc_id} not found"))
    if outcome == "applied":
        _count_events(events)
    return outcome


def today_or(value: date | None) -> date:
    return value or date.today()


def not_future(field: str, value: date | None) -> None:
    if value is not None and value > date.today():
        raise field_problem(
            field, say("tidak boleh melewati hari ini", "must not be in the future")
        )


# C0 and C1 control characters (tab, newline and carriage return allowed) and the bidi
# embedding, override and isolate controls, which make a name display as something else.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def refuse_control_characters(value: Any, loc: tuple[str, ...] = ()) -> None:
    """422 naming the field when any string in a request body holds a control character.

    NUL and friends break C-based consumers and logs downstream; bidi overrides disguise names.
    """
    if isinstance(value, str):
        if _CONTROL.search(value):
            field = ".".join(loc)
            msg = say("tidak boleh berisi karakter kendali", "must not contain control characters")
            raise Problem(
                422,
                say(f"{field}: {msg.id}", f"{field}: {msg.en}"),
                errors=[{"loc": ["body", *loc], "msg": msg}],
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(item, (*loc, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            refuse_control_characters(item, (*loc, str(index)))


class WriteGate:
    """Runs one write under an optional Idempotency-Key (see module docstring)."""

    def __init__(
        self,
        store: Store,
        principal: Principal,
        route_key: str,
        key: str | None,
        on_written: Callable[[], None] = lambda: None,
        vault: PiiVault | None = None,
    ) -> None:
        self.on_written = on_written
        self.vault = vault
        self.store = store
        self.principal = principal
        self.route_key = route_key
        self.key = key

    def _seal(self, body: Any) -> dict[str, Any]:
        """The stored first answer may name people: keep it sealed at rest, like names."""
        if self.vault is None:
            return {"body": body}
        return {"sealed_body": self.vault.seal(json.dumps(body))}

    def _open(self, claim: Doc) -> Any:
        if "sealed_body" in claim and self.vault is not None:
            opened = self.vault.open(claim["sealed_body"])
            if opened is None:
                raise Problem(
                    409,
                    say(
                        "jawaban pertama untuk Idempotency-Key ini tidak dapat dibaca",
                        "the first answer for this Idempotency-Key cannot be read",
                    ),
                )
            return json.loads(opened)
        return claim.get("body")

    def _fingerprint(self, request_body: BaseModel | None, params: Mapping[str, Any]) -> str:
        body = request_body.model_dump(mode="json") if request_body is not None else None
        canonical = json.dumps({"params": dict(params), "body": body}, sort_keys=True)
        if self.vault is not None:  # a body may hold a NIK or KK number: never a plain hash
            return self.vault.digest(canonical)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def run(
        self,
        action: Callable[[Ids], Written],
        *,
        body: BaseModel | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> JSONResponse:
        if body is not None:
            refuse_control_characters(body.model_dump(mode="json"))
        if self.key is None:
            written = action(Ids())
            self.on_written()
            return JSONResponse(written.body, status_code=written.status)
        claim_id = hashlib.sha256(
            f"{self.principal.scope_key()}|{self.route_key}|{self.key}".encode()
        ).hexdigest()
        fingerprint = self._fingerprint(body, params or {})
        claim = {"_id": claim_id, "fingerprint": fingerprint, "state": "pending", "at": time.time()}
        existing = self.store.put_if_absent(IDEMPOTENCY_COLLECTION, claim)
        if existing is not None:
            if existing.get("fingerprint") != fingerprint:
                raise Problem(
                    409,
                    say(
                        "Idempotency-Key ini sudah dipakai untuk permintaan yang berbeda",
                        "Idempotency-Key was already used with a different request",
                    ),
                )
            if existing.get("state") == "done":
                return JSONResponse(
                    self._open(existing),
                    status_code=existing["status"],
                    headers={"Idempotent-Replayed": "true"},
                )
        try:
            written = action(Ids(seed=claim_id))
        except Problem:
            # Nothing was written: free the key so a corrected retry can use it.
            self.store.delete(IDEMPOTENCY_COLLECTION, claim_id)
            raise
        self.store.replace(
            IDEMPOTENCY_COLLECTION,
            {**claim, "state": "done", "status": written.status, **self._seal(written.body)},
        )
        self.on_written()
        return JSONResponse(written.body, status_code=written.status)


async def write_gate(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=MAX_KEY_LENGTH,
            min_length=1,
            description="Repeat a write safely: same key and body returns the first answer",
        ),
    ] = None,
) -> WriteGate:
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    route_key = f"{request.method} {template} {sorted(request.path_params.items())}"
    runtime = request.app.state.runtime
    limiter = runtime.extras.get("write_limiter")
    if limiter is None:
        limiter = runtime.extras["write_limiter"] = WriteLimiter(runtime.settings.write_rate)
    await limiter.check(principal.scope_key())
    return WriteGate(
        runtime.store,
        principal,
        route_key,
        idempotency_key,
        runtime.after_write,
        vault_for(runtime.settings.pii_key),
    )


WriteGateDep = Annotated[WriteGate, Depends(write_gate)]
