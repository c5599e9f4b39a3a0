"""One-time sign-in codes: what a printed sign-in link carries instead of a token.

A code is a short-lived JWT (HS256) with the principal's claims plus ``typ: "login"``, a
random ``jti`` and ``ses`` (the seconds the session it opens lasts). It is signed with a key
derived from ``LUMBUNG_SECRET``, so a code is never a bearer token for the API and a bearer
token is never a code. ``lumbung token --link`` mints one offline, like a token.

Opening the link only shows whose account it opens (``GET /login?code=``); the form on that
page posts the code, and only that post redeems it: the ``jti`` is recorded with
``put_if_absent``, atomic in SQLite and MongoDB alike, so a second redemption of the same
code fails even on another replica of the aggregator.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlencode

import jwt

from shared.auth import Principal, Role, decode_token, mint_token
from shared.errors import Problem
from shared.ports.store import CollectionSpec, Store

CODE_MINUTES = 10
CODE_TTL = timedelta(minutes=CODE_MINUTES)
CODE_TYPE = "login"
MAX_CODE_CHARS = 4096
MAX_SESSION_S = 30 * 24 * 3600
USED_CODES = "dashboard_used_codes"
COLLECTIONS = (CollectionSpec(USED_CODES),)


class Refusal(StrEnum):
    """Why a code cannot sign anyone in."""

    MALFORMED = "malformed"
    EXPIRED = "expired"
    USED = "used"


class CodeRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class LoginCode:
    principal: Principal
    jti: str
    expires_at: float
    session_s: int

    def minutes_left(self) -> int:
        return max(1, round((self.expires_at - time.time()) / 60))


def code_key(secret: str) -> str:
    """The signing key of codes: derived from the secret, never the secret itself."""
    return hmac.new(secret.encode(), b"lumbung dashboard sign-in code", hashlib.sha256).hexdigest()


def mint_code(
    secret: str,
    *,
    role: Role,
    sub: str,
    district: str | None = None,
    villages: list[str] | None = None,
    session: timedelta,
    ttl: timedelta = CODE_TTL,
) -> str:
    """A one-time sign-in code; its claims are checked as ``mint_token`` checks a token's."""
    key = code_key(secret)
    claims = jwt.decode(
        mint_token(key, role=role, sub=sub, district=district, villages=villages, ttl=ttl),
        key,
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    claims.update(typ=CODE_TYPE, jti=secrets.token_urlsafe(16), ses=int(session.total_seconds()))
    return jwt.encode(claims, key, algorithm="HS256")


def login_link(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/login?{urlencode({'code': code})}"


def read_code(secret: str, code: str) -> LoginCode:
    """The code's principal and lifetime; CodeRefused when it is not a valid, live code."""
    code = code.strip()
    if not code or len(code) > MAX_CODE_CHARS:
        raise CodeRefused(Refusal.MALFORMED)
    key = code_key(secret)
    try:
        claims = jwt.decode(
            code, key, algorithms=["HS256"], options={"require": ["exp", "iat", "jti", "typ"]}
        )
    except jwt.ExpiredSignatureError:
        raise CodeRefused(Refusal.EXPIRED) from None
    except jwt.PyJWTError:
        raise CodeRefused(Refusal.MALFORMED) from None
    lifetime = claims["exp"] - claims["iat"]
    session = claims.get("ses")
    if (
        claims["typ"] != CODE_TYPE
        or not isinstance(claims["jti"], str)
        or not 0 < len(claims["jti"]) <= 64
        or lifetime > CODE_TTL.total_seconds()
        or not isinstance(session, int)
        or session < 1
    ):
        raise CodeRefused(Refusal.MALFORMED)
    try:
        principal = decode_token(key, code)  # the scope claims, checked as a token's are
    except Problem:
        raise CodeRefused(Refusal.MALFORMED) from None
    return LoginCode(principal, claims["jti"], float(claims["exp"]), min(session, MAX_SESSION_S))


def was_used(store: Store, code: LoginCode) -> bool:
    return store.get(USED_CODES, code.jti) is not None


def redeem(store: Store, code: LoginCode) -> None:
    """Spend the code, once: CodeRefused(USED) when it was spent before."""
    used = {
        "_id": code.jti,
        "sub": code.principal.sub,
        "expires_at": code.expires_at,
        "used_at": time.time(),
    }
    if store.put_if_absent(USED_CODES, used) is not None:
        raise CodeRefused(Refusal.USED)
