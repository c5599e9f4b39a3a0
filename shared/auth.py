"""Bearer JWTs (HS256), the four roles, and village/district scope checks."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import Problem
from shared.events.envelope import DISTRICT_CODE_PATTERN, VILLAGE_CODE_PATTERN
from shared.integrations.messages import sentence
from shared.language import Text, say


class Role(StrEnum):
    DISTRICT_ADMIN = "district_admin"
    VILLAGE_OPERATOR = "village_operator"
    EXTENSION_WORKER = "extension_worker"
    VIEWER = "viewer"


class Sector(StrEnum):
    REGISTRY = "registry"
    TRAINING = "training"
    COMMERCE = "commerce"
    AGRICULTURE = "agriculture"
    LIVESTOCK = "livestock"
    RESILIENCE = "resilience"


_VILLAGE = re.compile(VILLAGE_CODE_PATTERN)

WRITABLE: dict[Role, frozenset[Sector]] = {
    Role.DISTRICT_ADMIN: frozenset(Sector) - {Sector.RESILIENCE},
    Role.VILLAGE_OPERATOR: frozenset(Sector) - {Sector.RESILIENCE},
    Role.EXTENSION_WORKER: frozenset({Sector.AGRICULTURE, Sector.LIVESTOCK}),
    Role.VIEWER: frozenset(),
}


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)  # shared between requests (see decode_token)

    sub: str = Field(min_length=1, max_length=200)
    role: Role
    district: str | None = Field(None, pattern=DISTRICT_CODE_PATTERN)
    villages: list[str] = Field(default_factory=list)

    def covers_village(self, village_code: str) -> bool:
        if self.district is not None and village_code.startswith(self.district):
            return True
        return village_code in self.villages

    def covers_district(self, district_code: str) -> bool:
        return self.district == district_code

    def can_write(self, sector: Sector) -> bool:
        return sector in WRITABLE[self.role]

    def scope_key(self) -> str:
        return f"{self.role}:{self.sub}"

    def village_filter(self) -> dict[str, Any]:
        """A store filter that keeps only this principal's villages."""
        if self.district is not None:
            return {"district_code": self.district}
        return {"village_code": self.villages}


def mint_token(
    secret: str,
    *,
    role: Role,
    sub: str,
    district: str | None = None,
    villages: list[str] | None = None,
    ttl: timedelta = timedelta(days=30),
) -> str:
    claims = Principal(sub=sub, role=role, district=district, villages=villages or [])
    if claims.district is None and not claims.villages:
        raise ValueError(
            sentence(
                "token memerlukan kabupaten atau paling sedikit satu desa",
                "a token needs a district or at least one village",
            )
        )
    now = datetime.now(UTC)
    payload = {**claims.model_dump(exclude_none=True), "iat": now, "exp": now + ttl}
    return jwt.encode(payload, secret, algorithm="HS256")


# Tokens already verified, with their expiry: a client sends the same token with every
# request, and checking its signature and claims again cost ~8 % of a write's CPU.
_VERIFIED: dict[tuple[str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 4096


def decode_token(secret: str, token: str) -> Principal:
    key = (secret, token)
    known = _VERIFIED.get(key)
    if known is not None:
        if time.time() < known[1]:
            return known[0]
        _VERIFIED.pop(key, None)  # expired: verify again, which answers 401
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
        principal = Principal.model_validate(claims)
    except (jwt.PyJWTError, ValidationError) as exc:
        name = type(exc).__name__
        raise _unauthorized(say(f"token tidak sah: {name}", f"invalid token: {name}")) from None
    if any(not _VILLAGE.fullmatch(code) for code in principal.villages):
        raise _unauthorized(
            say(
                "token tidak sah: cakupannya berisi kode desa yang tidak sah",
                "invalid token: bad village code in scope",
            )
        )
    if principal.district is None and not principal.villages:
        raise _unauthorized(
            say("token tidak sah: tidak memiliki cakupan", "invalid token: no scope")
        )
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = (principal, float(claims["exp"]))
    return principal


def _unauthorized(detail: Text) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="lumbung"'})


async def current_principal(request: Request) -> Principal:
    """The caller's principal (async: no I/O, so no hop to the thread pool)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(say("token bearer diperlukan", "a bearer token is required"))
    return decode_token(request.app.state.runtime.settings.secret, token.strip())


PrincipalDep = Annotated[Principal, Depends(current_principal)]


NO_PROGRAMME_VILLAGE = say(
    "token ini tidak mencakup satu pun desa program ini",
    "this token covers none of the programme's villages",
)


def district_admin_scope(principal: Principal, village_code: str | None, what: Text) -> Any:
    """The store filter of an audit list only a district's admin reads (``what`` names the
    list in the refusal): the admin's district, or one of its villages; else 403."""
    district = principal.district
    if (
        principal.role is not Role.DISTRICT_ADMIN
        or district is None
        or (village_code is not None and not principal.covers_district(village_code[:4]))
    ):
        raise Problem(
            403,
            say(
                f"hanya admin kabupaten tersebut yang melihat {what.id}",
                f"only the district admin of that district sees {what.en}",
            ),
        )
    return {"district_code": district} if village_code is None else {"village_code": village_code}


def require_village(principal: Principal, village_code: str, sector: Sector | None) -> None:
    """403 unless the principal covers the village (and may write the sector, when given)."""
    if not principal.covers_village(village_code):
        raise Problem(
            403,
            say("token ini tidak mencakup desa tersebut", "this token does not cover that village"),
        )
    if sector is not None and not principal.can_write(sector):
        raise Problem(
            403,
            say(
                f"peran {principal.role} tidak berwenang mencatat data {sector}",
                f"role {principal.role} may not write {sector} data",
            ),
        )
