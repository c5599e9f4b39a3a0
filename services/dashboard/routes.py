"""The web dashboard: server-rendered pages over the resilience read model.

Pages (every one takes ``?as_of=YYYY-MM`` and ``?lang=id|en``):

- ``/``: to the overview of the token's scope; ``/login`` (the form, or with ``?code=`` a
  sign-in link's confirmation page; a post signs in), ``/logout`` (a post signs out);
- ``/dashboard/districts/{district_code}``: the villages of a district, sortable;
- ``/dashboard/villages``: the villages of a token that names villages one by one;
- ``/dashboard/villages/{village_code}``: pillars, bands, trend, income, funnel, follow-ups;
- ``/dashboard/villages/{village_code}/households``: each household's index;
- ``/dashboard/households/{household_id}``: the index taken apart, pillar by pillar;
- ``/dashboard/programs/{program_id}``: participants, stages and impact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services.aggregator.domain.scoring import STAGE_NAMES
from services.dashboard import data, figures
from services.dashboard.explain import band_rule, explain
from services.dashboard.page import STATIC, Page, guarded, page_for, render
from services.dashboard.security import STATIC as STATIC_CACHE
from services.dashboard.security import same_origin, secure
from services.dashboard.session import (
    DEMO_SESSION_HOURS,
    LoginRequired,
    check_token,
    demo_token,
    end_session,
    home_of,
    principal_of,
    safe_next,
    secret_of,
    session_token,
    start_session,
    token_of,
)
from services.dashboard.signin import (
    CODE_MINUTES,
    CodeRefused,
    Refusal,
    read_code,
    redeem,
    was_used,
)
from shared.auth import Principal
from shared.demo.model import DISTRICT_CODE
from shared.errors import Problem
from shared.language import say
from shared.ports.store import Store

router = APIRouter(include_in_schema=False)
VILLAGE = re.compile(r"^[0-9]{10}$")
DISTRICT = re.compile(r"^[0-9]{4}$")
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ASSETS = {"dashboard.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}
MAX_LOGIN_BODY = 8192
REFUSAL_STATUS = {Refusal.MALFORMED: 400, Refusal.USED: 409, Refusal.EXPIRED: 410}


def _check(pattern: re.Pattern[str], value: str) -> str:
    if not pattern.match(value):
        raise Problem(404, say("tidak ditemukan", "not found"))
    return value


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _store(request: Request) -> Store:
    return request.app.state.runtime.store


# sorting -------------------------------------------------------------------------------
def _sort(
    rows: list[dict[str, Any]],
    request: Request,
    keys: dict[str, Callable[[dict[str, Any]], Any]],
    default: str,
) -> tuple[list[dict[str, Any]], str, str]:
    """Rows sorted by ``?sort=`` and ``?dir=``; rows without a value always go last."""
    key = request.query_params.get("sort", default)
    key = key if key in keys else default
    direction = "desc" if request.query_params.get("dir") == "desc" else "asc"
    get = keys[key]
    present = [r for r in rows if get(r) is not None]
    missing = [r for r in rows if get(r) is None]
    present.sort(key=get, reverse=direction == "desc")
    return present + missing, key, direction


VILLAGE_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda r: (r.get("name") or r["village_code"]).casefold(),
    "code": lambda r: r["village_code"],
    "index": lambda r: r["index_mean"],
    "coverage": lambda r: r["coverage"],
    "households": lambda r: r["households_with_data"],
}
HOUSEHOLD_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "id": lambda r: r["household_id"],
    "index": lambda r: r["index"] if r["has_data"] else None,
    "income": lambda r: r["income_total"],
}


# crumbs --------------------------------------------------------------------------------
def _district_crumb(page: Page, principal: Principal, district_code: str) -> None:
    if principal.covers_district(district_code):
        name = data.district_name(page.request, district_code) or district_code
        page.crumbs.append((name, page.url(f"/dashboard/districts/{district_code}")))
    elif len(principal.villages) > 1:
        page.crumbs.append((page.tr("my_villages"), page.url("/dashboard/villages")))


def _village_crumb(page: Page, principal: Principal, village_code: str) -> None:
    _district_crumb(page, principal, village_code[:4])
    name = data.village_doc(page.request, village_code).get("name") or village_code
    page.crumbs.append((name, page.url(f"/dashboard/villages/{village_code}")))


# entry, login, logout, assets -------------------------------------------------------------
@router.get("/")
@guarded
def home(request: Request) -> Response:
    """To the overview that fits the token's scope (the demo district for a local visitor
    of the embedded demo who has no token yet)."""
    if token_of(request) is None and (demo := demo_token(request)) is not None:
        response = _redirect(f"/dashboard/districts/{DISTRICT_CODE}")
        start_session(request, response, demo, DEMO_SESSION_HOURS * 3600)
        return response
    return _redirect(home_of(principal_of(request)))


@router.get("/dashboard")
@guarded
def dashboard_home(request: Request) -> Response:
    return _redirect(home_of(principal_of(request)))


@router.get("/login")
@guarded
def login_form(
    request: Request, code: str | None = None, token: str | None = None, next: str | None = None
) -> Response:
    """The login form; with ``?code=`` (a printed sign-in link) the page that says whose
    account the code opens and asks to confirm. Opening a link never signs in by itself,
    and a link with ``?token=`` (as printed before sign-in codes) no longer does either."""
    page = page_for(request)
    target = safe_next(next)
    if code is not None:
        return _confirm(page, code, target)
    if token is not None:
        return render(page, "login.html", status=400, target=target, alert="token_link_gone")
    return render(page, "login.html", target=target, alert=None)


def _confirm(page: Page, raw: str, target: str) -> Response:
    request = page.request
    try:
        code = read_code(secret_of(request), raw)
        if was_used(_store(request), code):
            raise CodeRefused(Refusal.USED)
    except CodeRefused as exc:
        return _refused(page, exc.reason)
    who = code.principal
    page.carry = ("code",)  # the language switch keeps the link working
    return render(
        page,
        "login_confirm.html",
        code=raw.strip(),
        target=target,
        who=who,
        district_name=who.district and (data.district_name(request, who.district) or who.district),
        villages=[(c, data.village_doc(request, c).get("name") or c) for c in who.villages],
        minutes=code.minutes_left(),
        current=_signed_in(request),
    )


def _signed_in(request: Request) -> Principal | None:
    try:
        return principal_of(request)
    except LoginRequired:
        return None


def _refused(page: Page, reason: Refusal) -> Response:
    return render(
        page,
        "refused.html",
        status=REFUSAL_STATUS[reason],
        key=f"code_{reason}",
        minutes=CODE_MINUTES,
        new_link=True,
    )


@guarded
def _cross_site(request: Request) -> Response:
    return render(page_for(request), "refused.html", status=403, key="cross_site", new_link=False)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    """The login form's answer (a pasted token) or the confirmation of a sign-in link (its
    one-time code, spent here): either becomes the session cookie. Only from this site."""
    if not same_origin(request):
        return _cross_site(request=request)
    body = await request.body()
    form = dict(parse_qsl(body[:MAX_LOGIN_BODY].decode("utf-8", "replace"), keep_blank_values=True))
    target = safe_next(form.get("next"))
    if "code" in form:
        return await run_in_threadpool(_redeem, request=request, raw=form["code"], target=target)
    token = form.get("token", "")
    checked = check_token(request, token)
    if checked is None:
        return _failed_login(request=request, target=target)
    principal, max_age = checked
    response = _redirect(home_of(principal) if target == "/" else target)
    start_session(request, response, token, max_age)
    return secure(response)


@guarded
def _redeem(request: Request, raw: str, target: str) -> Response:
    try:
        code = read_code(secret_of(request), raw)
        redeem(_store(request), code)
    except CodeRefused as exc:
        return _refused(page_for(request), exc.reason)
    response = _redirect(home_of(code.principal) if target == "/" else target)
    start_session(request, response, session_token(request, code), code.session_s)
    return response


@guarded
def _failed_login(request: Request, target: str) -> Response:
    return render(page_for(request), "login.html", status=401, target=target, alert="login_bad")


@router.get("/logout")
@guarded
def logout_page(request: Request) -> Response:
    """Asks to confirm: signing out changes the session, so only a post from here does it."""
    return render(page_for(request), "logout.html")


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the token in this browser."""
    if not same_origin(request):
        return _cross_site(request=request)
    response = _redirect("/login")
    end_session(request, response)
    return secure(response)


@router.get("/dashboard/static/{name}")
def asset(name: str) -> Response:
    """The stylesheet and icon, served from this package (no CDN)."""
    if name not in ASSETS:
        return secure(
            Response("Tidak ditemukan. (Not found.)", status_code=404, media_type="text/plain")
        )
    body = (STATIC / name).read_bytes()
    return secure(Response(body, media_type=ASSETS[name]), cache=STATIC_CACHE)


# pages ---------------------------------------------------------------------------------
@router.get("/dashboard/districts/{district_code}")
@guarded
def district_page(request: Request, district_code: str) -> Response:
    """The villages of a district with the district's figures."""
    principal = principal_of(request)
    page = page_for(request, principal)
    code = _check(DISTRICT, district_code)
    summary = data.district(request, principal, code, page.month)
    rows, sort, direction = _sort(summary["villages"], request, VILLAGE_SORTS, "index")
    name = data.district_name(request, code) or code
    page.crumbs.append((name, None))
    return render(
        page,
        "district.html",
        summary=summary,
        name=name,
        rows=rows,
        sort=sort,
        direction=direction,
        programs=data.programs_in_scope(request, principal),
    )


@router.get("/dashboard/villages")
@guarded
def my_villages_page(request: Request) -> Response:
    """The villages of a token that names villages one by one."""
    principal = principal_of(request)
    if principal.district is not None:
        return _redirect(home_of(principal))
    page = page_for(request, principal)
    rows = data.covered_villages(request, principal, page.month)
    rows, sort, direction = _sort(rows, request, VILLAGE_SORTS, "index")
    page.crumbs.append((page.tr("my_villages"), None))
    return render(
        page,
        "villages.html",
        rows=rows,
        sort=sort,
        direction=direction,
        programs=data.programs_in_scope(request, principal),
    )


@router.get("/dashboard/villages/{village_code}")
@guarded
def village_page(request: Request, village_code: str) -> Response:
    """A village: pillars, bands, trend, income, training funnel and follow-ups."""
    principal = principal_of(request)
    page = page_for(request, principal)
    code = _check(VILLAGE, village_code)
    summary = data.village(request, principal, code, page.month)
    trend = data.trend(request, principal, code, page.month)
    follow = data.follow_ups(request, principal, code, page.month)
    titles = data.program_titles(request, {f["program_id"] for f in follow})
    rules = data.rules(request)
    _district_crumb(page, principal, code[:4])
    doc = data.village_doc(request, code)
    page.crumbs.append((doc.get("name") or code, None))
    tr = page.tr
    return render(
        page,
        "village.html",
        code=code,
        name=doc.get("name") or code,
        summary=summary,
        trend=trend,
        follow=follow,
        titles=titles,
        band_rule=tr(
            "band_rule", a=tr.num(rules.band_berkembang, 0), b=tr.num(rules.band_tangguh, 0)
        ),
        programs=data.programs_in_scope(request, principal, village_code=code),
        pillar_chart=figures.pillar_chart(tr, summary["pillars"], "pillars"),
        band_chart=figures.band_chart(tr, summary["bands"], "bands"),
        trend_chart=figures.trend_chart(tr, trend, rules, "trend"),
        income_chart=figures.income_chart(tr, summary["income"], "income"),
        funnel_chart=figures.funnel_chart(tr, summary["training"]["stages"], "funnel"),
    )


@router.get("/dashboard/villages/{village_code}/households")
@guarded
def village_households_page(request: Request, village_code: str) -> Response:
    """Each registered household of a village with its index and band."""
    principal = principal_of(request)
    page = page_for(request, principal)
    code = _check(VILLAGE, village_code)
    summary = data.village(request, principal, code, page.month)  # scope and existence
    rows = data.village_households(request, code, page.month)
    rows, sort, direction = _sort(rows, request, HOUSEHOLD_SORTS, "index")
    _village_crumb(page, principal, code)
    page.crumbs.append((page.tr("households"), None))
    name = data.village_doc(request, code).get("name") or code
    return render(
        page,
        "households.html",
        code=code,
        name=name,
        summary=summary,
        rows=rows,
        sort=sort,
        direction=direction,
    )


@router.get("/dashboard/households/{household_id}")
@guarded
def household_page(request: Request, household_id: str) -> Response:
    """A household's index with each pillar explained from its raw numbers."""
    principal = principal_of(request)
    page = page_for(request, principal)
    hid = _check(ID, household_id)
    answer = data.household(request, principal, hid, page.month)
    extras = data.household_extras(request, hid, page.month)
    rules = data.rules(request)
    _village_crumb(page, principal, answer["village_code"])
    page.crumbs.append((hid, None))
    tr = page.tr
    return render(
        page,
        "household.html",
        answer=answer,
        extras=extras,
        rules=rules,
        ex=explain(answer, extras["has_data"], rules, tr),
        band_rule=band_rule(answer["band"], rules, tr),
        income_chart=figures.income_chart(tr, answer["income"], "hh-income"),
    )


@router.get("/dashboard/programs/{program_id}")
@guarded
def program_page(request: Request, program_id: str) -> Response:
    """A programme: its participants' stages and its impact on digital sales."""
    principal = principal_of(request)
    page = page_for(request, principal)
    pid = _check(ID, program_id)
    items = data.participants(request, principal, pid, page.month)  # scope and existence
    impact = data.impact(request, principal, pid, page.month)
    doc = data.program_doc(request, pid)
    stages = {str(i): 0 for i in range(len(STAGE_NAMES))}
    for item in items:
        stages[str(item["stage"])] += 1
    codes = [c for c in doc.get("village_codes", []) if principal.covers_village(c)]
    if len(codes) == 1:
        _village_crumb(page, principal, codes[0])
    elif codes:
        _district_crumb(page, principal, codes[0][:4])
    page.crumbs.append((doc.get("title") or pid, None))
    tr = page.tr
    rules = data.rules(request)
    return render(
        page,
        "program.html",
        doc=doc,
        items=items,
        stages=stages,
        impact=impact,
        impact_months=rules.impact_months,
        village_names={c: data.village_doc(request, c).get("name") or c for c in codes},
        funnel_chart=figures.funnel_chart(tr, stages, "program-funnel"),
        impact_chart=(
            figures.impact_chart(tr, impact, "impact") if impact["did"] is not None else None
        ),
    )
