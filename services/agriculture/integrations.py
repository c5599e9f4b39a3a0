"""Routes for extension systems: the cursor feed and webhook subscriptions.

- ``GET /agriculture/feed?since=<seq>&limit=`` — agriculture and livestock facts of the
  token's villages after number ``since``, oldest first (``services.agriculture.feed``).
  ``next_cursor`` is always the number to pass as ``since`` next: the feed has no end, an
  empty page means "nothing new yet".
- ``POST/GET /agriculture/webhooks``, ``GET/DELETE /agriculture/webhooks/{webhook_id}``,
  ``POST /agriculture/webhooks/{webhook_id}/enable`` — subscriptions that receive the same
  items by signed POSTs (``services.agriculture.webhooks``). Whoever may write agriculture
  data for the villages manages their subscriptions; a subscription covers the villages
  named, or by default the token's own scope, and is seen only by tokens covering all of it.
  A new subscription starts at the feed's head (facts recorded from then on); replaying the
  history is an explicit choice, ``"from": "beginning"``.
"""

from __future__ import annotations

import secrets
import time
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import AnyUrl, BaseModel, ConfigDict, Field, UrlConstraints

from services.agriculture.feed import FeedBuilder, feed_page
from services.agriculture.targets import refusal
from services.agriculture.webhooks import WEBHOOKS, dispatcher_of
from shared.auth import Principal, PrincipalDep, Sector, require_village
from shared.commands import Ids, WriteGate, WriteGateDep, Written, insert_once
from shared.errors import ROUTE_PROBLEMS, Problem, field_problem
from shared.events.catalogue import Id, VillageCode
from shared.events.envelope import VILLAGE_CODE_PATTERN
from shared.language import say
from shared.pagination import MAX_LIMIT
from shared.pii import PiiVault
from shared.ports.store import Doc, Store
from shared.recording import WRITE_RESPONSES, store_of

router = APIRouter(prefix="/agriculture", tags=["integrations"], responses=ROUTE_PROBLEMS)
HookUrl = Annotated[
    AnyUrl,
    UrlConstraints(max_length=2000, allowed_schemes=["http", "https"], host_required=True),
]
LISTED = ["active", "disabled"]


# feed -------------------------------------------------------------------------------------
class Agrovoc(BaseModel):
    id: str
    uri: str


class FeedItem(BaseModel):
    seq: int
    event_id: str
    type: str = Field(examples=["lumbung.agriculture.harvest_recorded.v1"])
    village_code: str
    household_id: str | None
    occurred_on: date
    recorded_at: str
    data: dict[str, Any]
    agrovoc: Agrovoc | None


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: str = Field(description="pass as since= next time; never null")


@router.get(
    "/feed",
    response_model=FeedPage,
    summary="Agriculture and livestock facts after a cursor, in feed order (for extension systems)",
)
def feed(
    principal: PrincipalDep,
    request: Request,
    since: Annotated[int, Query(ge=0, le=10**12, description="next_cursor of the last page")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    village_code: Annotated[str | None, Query(pattern=VILLAGE_CODE_PATTERN)] = None,
) -> Any:
    if village_code is not None:
        require_village(principal, village_code, None)
        scope: dict[str, Any] = {"village_code": village_code}
    else:
        scope = principal.village_filter()
    return feed_page(store_of(request), scope, since, limit)


# webhooks ---------------------------------------------------------------------------------
class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://penyuluh.example.id/lumbung", "village_codes": []},
                {"url": "https://penyuluh.example.id/lumbung", "from": "beginning"},
            ]
        },
    )
    url: HookUrl
    village_codes: list[VillageCode] = Field(
        default_factory=list,
        max_length=500,
        description="villages covered (one district); empty: the token's whole scope",
    )
    description: Annotated[str, Field(max_length=200)] | None = None
    start: Literal["head", "beginning"] = Field(
        "head",
        alias="from",
        description="head (default): only facts the feed gains after the subscription; "
        "beginning: replay the whole feed first (may be many thousands of POSTs)",
    )


class WebhookEnable(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{}, {"note": "server fixed"}]}
    )
    note: Annotated[str, Field(max_length=200)] | None = None


class WebhookPublic(BaseModel):
    webhook_id: str
    url: str
    description: str | None = None
    district_code: str
    village_codes: list[str] = Field(description="empty: every village of the district")
    status: Literal["active", "disabled", "deleted"]
    position: int = Field(
        description="feed number of the last fact delivered; when created, the feed's head "
        '(0 with "from": "beginning")'
    )
    delivered: int
    failures: int = Field(description="consecutive failed attempts")
    last_error: str | None = None
    disabled_reason: str | None = None
    next_attempt_at: float | None = None
    last_delivery_at: float | None = None
    created_at: float
    note: str | None = None


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="HMAC-SHA256 signing secret; shown only in this answer")


def _public(doc: Doc) -> dict[str, Any]:
    return WebhookPublic.model_validate(doc).model_dump(mode="json")


def _covers(principal: Principal, hook: Doc) -> bool:
    if hook.get("district_code_scope"):
        return principal.covers_district(hook["district_code_scope"])
    return all(principal.covers_village(v) for v in hook["village_codes"])


def _may_not_manage(principal: Principal) -> Problem:
    return Problem(
        403,
        say(
            f"peran {principal.role} tidak berwenang mengelola webhook",
            f"role {principal.role} may not manage webhooks",
        ),
    )


def _load(store: Store, webhook_id: str, principal: Principal, *, write: bool) -> Doc:
    """The subscription if the token covers it; a deleted one can be read, not changed."""
    hook = store.get(WEBHOOKS, webhook_id)
    if hook is None:
        raise Problem(
            404, say(f"webhook {webhook_id} tidak ditemukan", f"webhook {webhook_id} not found")
        )
    if not _covers(principal, hook):
        raise Problem(
            403,
            say(
                "token ini tidak mencakup desa-desa webhook ini",
                "this token does not cover the webhook's villages",
            ),
        )
    if write and not principal.can_write(Sector.AGRICULTURE):
        raise _may_not_manage(principal)
    if write and hook.get("status") == "deleted":
        raise Problem(
            404, say(f"webhook {webhook_id} sudah dihapus", f"webhook {webhook_id} was deleted")
        )
    return hook


def _scope_of(principal: Principal, codes: list[str]) -> tuple[str, list[str], str | None]:
    """(district, villages, district scope) of a new subscription, checked against the token."""
    if codes:
        for code in codes:
            require_village(principal, code, Sector.AGRICULTURE)
        districts = {c[:4] for c in codes}
        if len(districts) > 1:
            raise field_problem(
                "village_codes",
                say("harus semuanya dalam satu kabupaten", "must all be in one district"),
            )
        return districts.pop(), sorted(set(codes)), None
    if not principal.can_write(Sector.AGRICULTURE):
        raise _may_not_manage(principal)
    if principal.district is not None:
        return principal.district, [], principal.district
    districts = {c[:4] for c in principal.villages}
    if len(districts) > 1:
        raise field_problem(
            "village_codes",
            say(
                "sebutkan desanya: token ini mencakup lebih dari satu kabupaten",
                "name the villages: the token spans districts",
            ),
        )
    return districts.pop(), sorted(principal.villages), None


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=WRITE_RESPONSES,
    summary="Subscribe a URL to the feed's new facts (signed POSTs; the secret is shown once)",
)
def create_webhook(body: WebhookCreate, request: Request, gate: WriteGateDep) -> Any:
    store = store_of(request)
    district, villages, district_scope = _scope_of(gate.principal, body.village_codes)
    settings = request.app.state.runtime.settings
    refused = None if settings.webhook_private_targets else refusal(str(body.url))
    if refused is not None:
        raise field_problem(
            "url",
            say(
                f"webhook hanya mengirim ke alamat publik: {refused}",
                f"webhooks post to public addresses only: {refused}",
            ),
        )
    vault = PiiVault(settings.pii_key)
    position = 0 if body.start == "beginning" else FeedBuilder(store).head()

    def action(ids: Ids) -> Written:
        webhook_id = ids.new("wh")
        secret = "whsec_" + secrets.token_urlsafe(32)
        doc = {
            "_id": webhook_id,
            "webhook_id": webhook_id,
            "url": str(body.url),
            "description": body.description,
            "district_code": district,
            "district_code_scope": district_scope,
            "village_codes": villages,
            "status": "active",
            "position": position,
            "delivered": 0,
            "failures": 0,
            "next_attempt_at": 0,
            "created_at": time.time(),
            "secret_sealed": vault.seal(secret),
        }
        stored = insert_once(store, WEBHOOKS, doc, [], f"create-{webhook_id}")
        dispatcher_of(request.app.state.runtime).wake()
        return Written(201, {**_public(stored), "secret": secret})

    return gate.run(action, body=body)


@router.get("/webhooks", response_model=list[WebhookPublic], summary="Webhooks in scope")
def list_webhooks(principal: PrincipalDep, request: Request) -> Any:
    districts = (
        [principal.district] if principal.district else sorted({v[:4] for v in principal.villages})
    )
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = store_of(request).find(
            WEBHOOKS, {"district_code": districts, "status": LISTED}, limit=MAX_LIMIT, after=after
        )
        found += [_public(h) for h in page.items if _covers(principal, h)]
        if page.next_cursor is None:
            return found
        after = page.next_cursor


@router.get("/webhooks/{webhook_id}", response_model=WebhookPublic, summary="One webhook")
def get_webhook(webhook_id: Id, principal: PrincipalDep, request: Request) -> Any:
    return _public(_load(store_of(request), webhook_id, principal, write=False))


def _change(request: Request, gate: WriteGate, webhook_id: str, fields: dict[str, Any]) -> Any:
    store = store_of(request)

    def action(ids: Ids) -> Written:
        _load(store, webhook_id, gate.principal, write=True)
        store.update(WEBHOOKS, webhook_id, set_fields=fields, command_id=ids.new("cmd"))
        dispatcher_of(request.app.state.runtime).wake()
        return Written(200, _public(store.get(WEBHOOKS, webhook_id) or {}))

    return gate.run(action, params={"webhook_id": webhook_id})


@router.delete(
    "/webhooks/{webhook_id}",
    response_model=WebhookPublic,
    responses=WRITE_RESPONSES,
    summary="Stop a webhook for good (answers its final state)",
)
def delete_webhook(webhook_id: Id, request: Request, gate: WriteGateDep) -> Any:
    return _change(request, gate, webhook_id, {"status": "deleted"})


@router.post(
    "/webhooks/{webhook_id}/enable",
    response_model=WebhookPublic,
    responses=WRITE_RESPONSES,
    summary="Resume a disabled webhook where it stopped",
)
def enable_webhook(
    webhook_id: Id, body: WebhookEnable, request: Request, gate: WriteGateDep
) -> Any:
    fields = {"status": "active", "failures": 0, "next_attempt_at": 0, "disabled_reason": None}
    if body.note is not None:
        fields["note"] = body.note
    return _change(request, gate, webhook_id, fields)
