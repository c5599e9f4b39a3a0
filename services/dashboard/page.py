"""Rendering: the per-request page context, templates, error pages and security headers.

Every dashboard endpoint is wrapped by :func:`guarded`: it turns a missing token into a
redirect to the login page, the API's 403/404/422 into an HTML page with the same
status (never data), and adds the security headers to whatever is answered.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.aggregator.domain.months import add_months
from services.dashboard import data
from services.dashboard.i18n import DEFAULT_LANG, Translator, pick_lang
from services.dashboard.security import secure
from services.dashboard.session import (
    LANG_COOKIE,
    LoginRequired,
    end_session,
    principal_of,
    remember_lang,
    without_secrets,
)
from shared.auth import Principal
from shared.errors import Problem
from shared.language import say
from shared.ports.bus import BusUnavailable
from shared.ports.store import StoreUnavailable

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
ERROR_STATUSES = (403, 404, 422, 500, 503)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _asset_version(name: str) -> str:
    path = STATIC / name
    return f"{path.stat().st_mtime_ns:x}" if path.exists() else "0"


CSS_VERSION = _asset_version("dashboard.css")


@dataclass
class Page:
    """What every template needs: language, month, principal and URL builders."""

    request: Request
    tr: Translator
    lang_from_query: str | None
    month: str
    months: list[str]
    principal: Principal | None = None
    crumbs: list[tuple[str, str | None]] = field(default_factory=list)
    # secret query parameters this page's own links keep (the sign-in code, until redeemed)
    carry: tuple[str, ...] = ()

    @property
    def lang(self) -> str:
        return self.tr.lang

    def url(self, path: str, **params: Any) -> str:
        """A dashboard link that keeps the chosen month."""
        query = {"as_of": self.month, **{k: v for k, v in params.items() if v is not None}}
        return f"{path}?{urlencode(query)}"

    def here(self, **changes: Any) -> str:
        """This page's address with some query parameters changed (None removes one), never
        with a token (nor a sign-in code, unless the page carries it)."""
        query = dict(self.request.query_params)
        for key, value in changes.items():
            if value is None:
                query.pop(key, None)
            else:
                query[key] = str(value)
        encoded = without_secrets(query.items(), keep=self.carry)
        return f"{self.request.url.path}?{encoded}" if encoded else self.request.url.path

    def keep(self, *names: str) -> list[tuple[str, str]]:
        """Query parameters a form must carry along (e.g. the sort order)."""
        return [(n, self.request.query_params[n]) for n in names if n in self.request.query_params]

    @property
    def css(self) -> str:
        return f"/dashboard/static/dashboard.css?v={CSS_VERSION}"


def language(request: Request) -> tuple[Translator, str | None]:
    chosen = pick_lang(request.query_params.get("lang"))
    lang = chosen or pick_lang(request.cookies.get(LANG_COOKIE)) or DEFAULT_LANG
    return Translator(lang), chosen


def page_for(request: Request, principal: Principal | None = None) -> Page:
    """The page context; 422 when ``as_of`` is not a month or is after the current one."""
    tr, chosen = language(request)
    current = data.current_month(request)
    as_of = request.query_params.get("as_of") or current
    if not MONTH.match(as_of) or as_of > current:
        raise Problem(
            422,
            say(
                "as_of: harus sebuah bulan, paling lambat bulan berjalan",
                "as_of: not a month up to the current one",
            ),
        )
    months = [add_months(current, -i) for i in range(data.history_months(request))]
    if as_of not in months:
        months.append(as_of)
    return Page(request, tr, chosen, as_of, months, principal)


def render(page: Page, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(template).render(p=page, t=page.tr, **context)
    response = HTMLResponse(html, status_code=status)
    if page.lang_from_query:
        remember_lang(page.request, response, page.lang_from_query)
    return response


def error_page(request: Request, status: int) -> Response:
    tr, chosen = language(request)
    try:
        principal: Principal | None = principal_of(request)
    except LoginRequired:
        principal = None
    page = Page(request, tr, chosen, request.query_params.get("as_of", ""), [], principal)
    response = render(page, "error.html", status=status, status_code=status)
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def login_redirect(request: Request, stale: bool) -> Response:
    target = request.url.path
    if query := without_secrets(request.query_params.multi_items()):
        target += f"?{query}"
    response = RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
    if stale:
        end_session(request, response)
    return response


def guarded(endpoint: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a page endpoint: login redirect, HTML error pages, security headers."""

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            response = endpoint(*args, **kwargs)
        except LoginRequired as exc:
            response = login_redirect(request, exc.stale)
        except Problem as exc:
            if exc.status == 401:
                response = login_redirect(request, stale=True)
            else:
                status = exc.status if exc.status in ERROR_STATUSES else 500
                response = error_page(request, status)
        except (StoreUnavailable, BusUnavailable) as exc:
            log.warning("dashboard: dependency unavailable: %s", exc)
            response = error_page(request, 503)
        except Exception:
            log.exception("dashboard page failed")
            response = error_page(request, 500)
        return secure(response)

    return wrapper
