"""Recording facts and entities: the one write path the domain services share.

A route validates its body, checks scope, then calls ``record``: it builds the document and
its event, and stores both in one atomic write through the write gate (Idempotency-Key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from shared.auth import Principal, Sector, require_village
from shared.commands import Ids, WriteGate, Written, build_event, insert_once, not_future, today_or
from shared.errors import Problem, invalid_fields, problem_doc
from shared.events.catalogue import Payload
from shared.households import Households
from shared.integrations.messages import api_reason
from shared.language import Text, say
from shared.pagination import PageParams, checked_cursor, page_of
from shared.ports.store import Doc, Store

Build = Callable[[str, date], tuple[dict[str, Any], Payload]]
P = TypeVar("P", bound=Payload)
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_doc("the body cannot be parsed: not UTF-8, nested too deeply, or a huge number"),
    401: problem_doc("no or bad token"),
    403: problem_doc("the token does not cover the village, or the role may not write"),
    404: problem_doc("the parent record does not exist"),
    409: problem_doc("id or Idempotency-Key already used for something else"),
    413: problem_doc("the body is larger than the limit (LUMBUNG_MAX_BODY_BYTES)"),
    422: problem_doc("invalid field; the problem+json names it"),
    503: problem_doc("store unreachable; nothing was recorded"),
}


def write_route(
    router: APIRouter, path: str, model: type[BaseModel], summary: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The decorator of a write route: 201 with ``model``, the write problems documented."""
    return router.post(
        path,
        status_code=status.HTTP_201_CREATED,
        response_model=model,
        responses=WRITE_RESPONSES,
        summary=summary,
    )


def payload_problem(exc: ValidationError) -> Problem:
    return invalid_fields(
        [{"loc": ["body", *map(str, e["loc"])], "msg": api_reason(e)} for e in exc.errors()]
    )


def store_of(request: Request) -> Store:
    return request.app.state.runtime.store


def public_view(doc: Doc) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def load_in_scope(
    store: Store,
    collection: str,
    doc_id: str,
    principal: Principal,
    *,
    sector: Sector | None = None,
    what: Text = say("catatan", "record"),
) -> Doc:
    """The document, after checking that the token covers its village (403) — or 404."""
    doc = store.get(collection, doc_id)
    if doc is None:
        raise Problem(
            404, say(f"{what.id} {doc_id} tidak ditemukan", f"{what.en} {doc_id} not found")
        )
    require_village(principal, doc["village_code"], sector)
    return doc


def payload_from(model: type[P], body: BaseModel, day: date, /, **refs: Any) -> P:
    """The event payload of a request: the fields of ``body`` that ``model`` declares, with
    ``refs`` (a new id, a derived amount, fields of the parent record) over them, on ``day``.
    """
    declared = body.model_dump(include=set(model.model_fields) - {"occurred_on"})
    return model(**{**declared, **refs, "occurred_on": day})


def data_fields(payload: Payload, *, keep_none: bool = False) -> dict[str, Any]:
    """The event's data fields as stored in the document (its own occurred_on is the day)."""
    return payload.model_dump(mode="json", exclude={"occurred_on"}, exclude_none=not keep_none)


def build_from(
    model: type[Payload],
    body: BaseModel,
    /,
    *,
    id_as: str | None = None,
    doc: Mapping[str, Any] | None = None,
    keep_none: bool = False,
    **refs: Any,
) -> Build:
    """A ``build`` for ``record``: the payload from ``body`` and ``refs`` (the new id as the
    field ``id_as``), the document ``doc``'s fields then the payload's data fields."""

    def build(new_id: str, day: date) -> tuple[dict[str, Any], Payload]:
        own = {id_as: new_id} if id_as is not None else {}
        payload = payload_from(model, body, day, **refs, **own)
        return {**(doc or {}), **data_fields(payload, keep_none=keep_none)}, payload

    return build


def record(
    gate: WriteGate,
    store: Store,
    *,
    body: BaseModel,
    collection: str,
    id_field: str,
    id_prefix: str,
    village_code: str,
    build: Build,
    subject: str | None,
    given_id: str | None = None,
    occurred_on: date | None = None,
    params: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """Store a new document and its one event atomically; answer 201 with the document.

    ``build(new_id, day)`` returns the document's own fields and the event payload.
    """
    not_future("occurred_on", occurred_on)

    def action(ids: Ids) -> Written:
        day = today_or(occurred_on)
        new_id = given_id or ids.new(id_prefix)
        try:
            fields, payload = build(new_id, day)
        except ValidationError as exc:
            # A derived value (an amount = quantity x price) can break the event's limits even
            # though each input field was valid: that is the client's input, so a 422.
            raise payload_problem(exc) from None
        doc = {
            "_id": new_id,
            id_field: new_id,
            "village_code": village_code,
            "district_code": village_code[:4],
            "occurred_on": day.isoformat(),
            **fields,
        }
        event = build_event(
            payload, village_code=village_code, subject=subject, event_id=ids.new("ev")
        )
        doc["event_id"] = event["id"]
        stored = insert_once(store, collection, doc, [event], event["id"])
        return Written(201, public_view(stored))

    return gate.run(action, body=body, params=params)


def record_new(
    gate: WriteGate,
    store: Store,
    body: BaseModel,
    model: type[Payload],
    *,
    sector: Sector,
    collection: str,
    id_field: str,
    id_prefix: str,
    subject: str | None,
    households: Households | None = None,
) -> JSONResponse:
    """A new record of the body's village (the token must cover it for ``sector``): its id is
    the body's ``id_field`` or a new one, its event ``model`` from the body's fields. With
    ``households``, the body's ``household_id`` must not be known in another village."""
    placed = body.model_dump(include={"village_code", "occurred_on", "household_id", id_field})
    require_village(gate.principal, placed["village_code"], sector)
    if households is not None:
        households.check(gate, placed["household_id"], placed["village_code"])
    return record(
        gate,
        store,
        body=body,
        collection=collection,
        id_field=id_field,
        id_prefix=id_prefix,
        village_code=placed["village_code"],
        build=build_from(model, body, id_as=id_field),
        subject=subject,
        given_id=placed.get(id_field),
        occurred_on=placed.get("occurred_on"),
    )


def list_in_scope(
    store: Store,
    collection: str,
    principal: Principal,
    page: PageParams,
    *,
    village_code: str | None = None,
    where: Mapping[str, Any] | None = None,
    view: Callable[[Doc], dict[str, Any]] = public_view,
) -> dict[str, object]:
    """One page of a collection, restricted to the token's villages (403 outside them)."""
    if village_code is not None:
        require_village(principal, village_code, None)
        scope: dict[str, Any] = {"village_code": village_code}
    else:
        scope = principal.village_filter()
    found = store.find(
        collection, {**scope, **(where or {})}, limit=page.limit, after=checked_cursor(page)
    )
    found.items = [view(d) for d in found.items]
    return page_of(found)
