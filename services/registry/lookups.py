"""Who looked up a NIK or KK number, for the district's admin: the lookup is an oracle.

``POST /registry/households/match`` tells a token whether a number belongs to a household
of a village, and a NIK's digits are the region and the date of birth: unlimited lookups
could enumerate a village's people. So lookups are limited per token
(``LUMBUNG_LOOKUP_RATE``, far below the write limit) and each one is recorded here: who
asked (the token's ``sub`` and ``role``), when, the village, by NIK or by KK number, and
whether a household was found. Never the number, its hash or any of its digits.

- An answered lookup (200 or 404) is recorded before it is answered: no record, no answer
  (a record that cannot be written is a 503, never a 500 nor an unrecorded answer).
- Lookups refused by the limit are recorded too (``found`` null, ``refused`` says why), one
  record per token, village, kind and minute with the number of ``attempts``: a flood of
  refused lookups cannot flood the store. The 429 goes out even if that record fails.

``GET /registry/lookups`` lists them, newest first (ids count down in time), to the district
admin of their district only.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shared.auth import Principal, PrincipalDep, Role, district_admin_scope
from shared.errors import RETRY_AFTER_S, ROUTE_PROBLEMS, Problem
from shared.events.envelope import VILLAGE_CODE_PATTERN
from shared.language import say
from shared.pagination import PageDep, PageOut, checked_cursor, page_of
from shared.ports.store import CollectionSpec, Doc, Store
from shared.ratelimit import LookupLimiter
from shared.recording import store_of
from shared.runtime import Runtime

log = logging.getLogger(__name__)
LOOKUPS = "registry_lookups"
COLLECTIONS = (CollectionSpec(LOOKUPS, indexes=("village_code", "district_code")),)
LookupBy = Literal["nik", "kk"]
REFUSED_BY_LIMIT = "rate_limit"
_COUNTDOWN_NS = 10**20  # ids are this minus the time: the newest sorts first
_MINUTE_NS = 60 * 10**9
_COUNT_TRIES = 5  # compare-and-set rounds for a refused attempt's count under contention
router = APIRouter(prefix="/registry", tags=["registry"], responses=ROUTE_PROBLEMS)


class LookupPublic(BaseModel):
    lookup_id: str
    at: str = Field(description="when (UTC, ISO 8601); refused: the minute's first attempt")
    sub: str = Field(description="the token's subject")
    role: Role
    village_code: str
    district_code: str
    by: LookupBy = Field(description="looked up by a member's NIK or by the KK number")
    found: bool | None = Field(description="whether a household was found; null: refused")
    refused: Literal["rate_limit"] | None = Field(
        None, description="why it was not looked up (past LUMBUNG_LOOKUP_RATE)"
    )
    attempts: int = Field(1, description="refused: the attempts of that minute")
    last_at: str | None = Field(None, description="refused: the minute's last attempt")


def _public(doc: Doc) -> dict[str, Any]:
    return LookupPublic.model_validate({**doc, "lookup_id": doc["_id"]}).model_dump(mode="json")


def lookup_limiter(runtime: Runtime) -> LookupLimiter:
    """The process's lookup limiter (``LUMBUNG_LOOKUP_RATE``), made on first use."""
    limiter = runtime.extras.get("lookup_limiter")
    if limiter is None:
        limiter = runtime.extras["lookup_limiter"] = LookupLimiter(runtime.settings.lookup_rate)
    return limiter


def _when(at_ns: int) -> str:
    return datetime.fromtimestamp(at_ns / 1e9, UTC).isoformat(timespec="seconds")


def _record(principal: Principal, village_code: str, by: LookupBy, at_ns: int, tail: str) -> Doc:
    return {
        "_id": f"lk-{_COUNTDOWN_NS - at_ns:020d}-{tail}",
        "at": _when(at_ns),
        "sub": principal.sub,
        "role": str(principal.role),
        "village_code": village_code,
        "district_code": village_code[:4],
        "by": by,
        "attempts": 1,
    }


def record_lookup(
    store: Store, principal: Principal, village_code: str, by: LookupBy, *, found: bool
) -> None:
    """Record an answered lookup before it is answered; 503 when that cannot be done."""
    doc = {
        **_record(principal, village_code, by, time.time_ns(), uuid.uuid4().hex[:12]),
        "found": found,
        "refused": None,
    }
    try:
        store.replace(LOOKUPS, doc)
    except Exception:
        log.exception("a lookup in village %s could not be recorded: not answered", village_code)
        raise Problem(
            503,
            say(
                "pencarian ini tidak dapat dicatat, jadi tidak dijawab; coba lagi nanti",
                "this lookup could not be recorded, so it was not answered; retry later",
            ),
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None


def record_refusal(store: Store, principal: Principal, village_code: str, by: LookupBy) -> None:
    """Count a lookup refused by the limit in its minute's record (never raises: the 429
    is the answer either way)."""
    now = time.time_ns()
    minute = now - now % _MINUTE_NS
    who = f"{principal.scope_key()}|{village_code}|{by}"
    tail = "refused-" + hashlib.sha256(who.encode()).hexdigest()[:16]
    doc = {
        **_record(principal, village_code, by, minute, tail),
        "at": _when(now),
        "last_at": _when(now),
        "found": None,
        "refused": REFUSED_BY_LIMIT,
    }
    try:
        held = store.put_if_absent(LOOKUPS, doc)
        for _ in range(_COUNT_TRIES):
            if held is None:
                return
            attempts = int(held.get("attempts", 1))
            outcome = store.update(
                LOOKUPS,
                doc["_id"],
                set_fields={"attempts": attempts + 1, "last_at": doc["last_at"]},
                command_id=uuid.uuid4().hex,
                expect={"attempts": attempts},
            )
            if outcome != "precondition_failed":
                return
            held = store.get(LOOKUPS, doc["_id"])
        log.warning("a refused lookup in village %s was not counted: contention", village_code)
    except Exception:
        log.exception("a refused lookup in village %s could not be recorded", village_code)


@router.get(
    "/lookups",
    response_model=PageOut[LookupPublic],
    summary="NIK/KK lookups in the district's villages, newest first (district admin only)",
)
def list_lookups(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: Annotated[str | None, Query(pattern=VILLAGE_CODE_PATTERN)] = None,
) -> Any:
    where = district_admin_scope(
        principal, village_code, say("pencarian NIK dan nomor KK", "the NIK and KK lookups")
    )
    found = store_of(request).find(LOOKUPS, where, limit=page.limit, after=checked_cursor(page))
    found.items = [_public(d) for d in found.items]
    return page_of(found)
