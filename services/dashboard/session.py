"""Who is looking: the same signed token as the API, carried in a cookie for a browser.

A ``Authorization: Bearer`` header wins over the cookie, so scripts and tests can use the
dashboard like the API. The cookie holds the token itself (HttpOnly, SameSite=Strict), so
scope is decided exactly as for the API, by ``shared.auth.decode_token``. A sign-in link's
one-time code (``services.dashboard.signin``) becomes such a token when it is redeemed.
No address the dashboard makes carries a token or a code (:func:`without_secrets`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import jwt
from fastapi import Request, Response

from services.aggregator.readmodel import VILLAGES
from services.dashboard.signin import LoginCode
from shared.auth import Principal, Role, decode_token, mint_token
from shared.demo.first_start import demo_wanted
from shared.demo.model import DISTRICT_CODE
from shared.errors import Problem
from shared.settings import Mode

TOKEN_COOKIE = "lumbung_token"
LANG_COOKIE = "lumbung_lang"
MAX_TOKEN_CHARS = 4096
DEMO_SESSION_HOURS = 12
MAX_COOKIE_AGE_S = 30 * 24 * 3600
LANG_COOKIE_AGE_S = 365 * 24 * 3600
SECRET_PARAMS = frozenset({"token", "code"})
_LOCAL_PATH = re.compile(r"^/(?![/\\])[A-Za-z0-9/_.:?=&%-]*$")


class LoginRequired(Exception):
    """No usable token: the browser goes to the login page (``stale``: drop the cookie)."""

    def __init__(self, stale: bool = False) -> None:
        super().__init__("login required")
        self.stale = stale


def token_of(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


def secret_of(request: Request) -> str:
    return request.app.state.runtime.settings.secret


def principal_of(request: Request) -> Principal:
    token = token_of(request)
    if token is None:
        raise LoginRequired()
    try:
        return decode_token(secret_of(request), token)
    except Problem:
        raise LoginRequired(stale=True) from None


def check_token(request: Request, token: str) -> tuple[Principal, int] | None:
    """The principal of a pasted token and the seconds it stays valid, or None if invalid."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        principal = decode_token(secret_of(request), token)
        exp = jwt.decode(token, secret_of(request), algorithms=["HS256"])["exp"]
    except (Problem, jwt.PyJWTError, KeyError):
        return None
    return principal, max(1, min(int(exp - time.time()), MAX_COOKIE_AGE_S))


def session_token(request: Request, code: LoginCode) -> str:
    """The session a redeemed sign-in code opens: a token with the code's claims."""
    who = code.principal
    return mint_token(
        secret_of(request),
        role=who.role,
        sub=who.sub,
        district=who.district,
        villages=who.villages,
        ttl=timedelta(seconds=code.session_s),
    )


def start_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        TOKEN_COOKIE,
        token.strip(),
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        TOKEN_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def remember_lang(request: Request, response: Response, lang: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=LANG_COOKIE_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def without_secrets(params: Iterable[tuple[str, str]], keep: Iterable[str] = ()) -> str:
    """Query parameters, encoded, without a token or a sign-in code (unless kept), nor one
    inside the page to go back to (``next``)."""
    dropped = SECRET_PARAMS - set(keep)
    return urlencode(
        [(k, safe_next(v) if k == "next" else v) for k, v in params if k not in dropped]
    )


def safe_next(value: str | None) -> str:
    """A local page to go back to after login, without a token or code in its query;
    anything else (another host, the login page itself) becomes ``/``."""
    if value and "?" in value:
        path, _, query = value.partition("?")
        query = without_secrets(parse_qsl(query, keep_blank_values=True))
        value = f"{path}?{query}" if query else path
    if (
        value
        and len(value) <= 500
        and _LOCAL_PATH.match(value)
        and not value.startswith(("/login", "/logout"))
    ):
        return value
    return "/"


def home_of(principal: Principal) -> str:
    """The overview that fits the token's scope."""
    if principal.district is not None:
        return f"/dashboard/districts/{principal.district}"
    if len(principal.villages) == 1:
        return f"/dashboard/villages/{principal.villages[0]}"
    return "/dashboard/villages"


def demo_token(request: Request) -> str | None:
    """On one machine running the embedded demo, a local visitor gets a read-only token for
    the fictional demo district (province 99) so the first page needs no extra step. Never
    in distributed mode, never for a remote address, never for real region codes."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    local = request.client is not None and request.client.host in ("127.0.0.1", "::1")
    if settings.mode is not Mode.EMBEDDED or not local or not demo_wanted(settings):
        return None
    if not runtime.store.count(VILLAGES, {"district_code": DISTRICT_CODE}):
        return None
    return mint_token(
        settings.secret,
        role=Role.VIEWER,
        sub="demo-visitor",
        district=DISTRICT_CODE,
        ttl=timedelta(hours=DEMO_SESSION_HOURS),
    )
