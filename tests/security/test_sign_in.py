"""Signing in to the dashboard: a sign-in link holds a one-time code that expires within
minutes; opening it only asks to confirm, and only the confirmation (a post from the
dashboard itself) spends it. No address the dashboard makes carries a token or a code, and
no redirect names a host taken from the request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.catalog import SERVICES
from services.dashboard.i18n import MESSAGES
from services.dashboard.signin import CODE_MINUTES, CODE_TTL, USED_CODES, mint_code, read_code
from services.main import embedded_app, service_app
from shared.adapters.inproc_bus import InProcessBus
from shared.auth import Role
from shared.http import create_app, route_table
from shared.ports.store import Store
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.browser.site import (
    AS_OF,
    DISTRICT,
    PROGRAM,
    VILLAGE,
    bearer,
    consume,
    dashboard_app,
    publish_scenario,
)
from tests.e2e.test_dashboard_http import sign_in_code

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ADDRESS = re.compile(r'(?:href|action|src|value)="([^"]*)"|url=([^"]*)"')
PAGES = (
    f"/dashboard/districts/{DISTRICT}",
    f"/dashboard/villages/{VILLAGE}",
    f"/dashboard/villages/{VILLAGE}/households",
    "/dashboard/households/hh-000",
    f"/dashboard/programs/{PROGRAM}",
    "/login",
    "/logout",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("sign-in"))
    app = dashboard_app(settings, background=False)
    with TestClient(app, follow_redirects=False) as client:
        publish_scenario(app.state.runtime)
        consume(app.state.runtime)
        yield client


@pytest.fixture
def client(site: TestClient) -> TestClient:
    site.cookies.clear()
    return site


def settings_of(client: TestClient) -> Settings:
    return client.app.state.runtime.settings  # type: ignore[attr-defined,no-any-return]


def confirm(client: TestClient, code: str, **headers: str) -> Any:
    return client.post("/login", data={"code": code}, headers=headers)


def refused(r: Any, status: int, key: str) -> None:
    assert r.status_code == status, r.text
    assert "set-cookie" not in r.headers or "lumbung_token=" not in r.headers["set-cookie"]
    assert f'data-refused="{key}"' in r.text and MESSAGES[key][0] in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


# the confirmation page --------------------------------------------------------------------
def test_opening_a_link_only_says_whose_account_it_opens(client: TestClient) -> None:
    code = sign_in_code(settings_of(client), villages=[VILLAGE])
    r = client.get("/login", params={"code": code})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert "Anda akan masuk sebagai" in r.text
    assert 'data-who="sub">dashboard-test<' in r.text
    assert MESSAGES["role_viewer"][0] in r.text and f"({VILLAGE})" in r.text
    assert "10 menit lagi, sekali pakai" in r.text
    assert f'name="code" value="{code}"' in r.text and 'action="/login"' in r.text
    r = client.get("/login", params={"code": code, "lang": "en"})
    assert "You are about to sign in as" in r.text and MESSAGES["role_viewer"][1] in r.text
    assert client.get(f"/dashboard/villages/{VILLAGE}").status_code == 303  # still signed out


def test_the_page_warns_when_it_would_replace_a_session(client: TestClient) -> None:
    settings = settings_of(client)
    client.cookies.set("lumbung_token", bearer(settings, villages=[VILLAGE]))
    r = client.get("/login", params={"code": sign_in_code(settings)})
    assert 'data-alert="confirm_replace"' in r.text


# one time, a few minutes ------------------------------------------------------------------
def test_a_code_signs_in_once(client: TestClient) -> None:
    code = sign_in_code(settings_of(client), villages=[VILLAGE])
    r = confirm(client, code)
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/villages/{VILLAGE}"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=3600" in cookie
    assert client.get(f"/dashboard/villages/{VILLAGE}").status_code == 200
    client.cookies.clear()
    refused(confirm(client, code), 409, "code_used")
    refused(client.get("/login", params={"code": code}), 409, "code_used")


def test_a_code_redeemed_twice_at_once_signs_in_once(client: TestClient) -> None:
    code = sign_in_code(settings_of(client))
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: confirm(client, code).status_code, range(8)))
    assert statuses == [303] + [409] * 7


def test_a_code_is_spent_once_across_aggregator_replicas_on_each_store(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """Distributed mode mounts the dashboard in the aggregator: replicas share its store."""

    def replica(n: int) -> FastAPI:
        runtime = bootstrap(
            settings,
            [SERVICES["aggregator"]],
            label="aggregator",
            store=store,
            bus=InProcessBus(tmp_path / f"bus-{n}.sqlite3"),
        )
        return create_app(runtime, title="aggregator", background=False)

    code = sign_in_code(settings)
    with (
        TestClient(replica(1), follow_redirects=False) as one,
        TestClient(replica(2), follow_redirects=False) as two,
    ):
        assert one.get("/login", params={"code": code}).status_code == 200
        assert confirm(one, code).status_code == 303
        refused(confirm(two, code), 409, "code_used")
        refused(two.get("/login", params={"code": code}), 409, "code_used")
    assert store.get(USED_CODES, read_code(settings.secret, code).jti) is not None


def test_an_expired_code_is_refused(client: TestClient) -> None:
    settings = settings_of(client)
    code = mint_code(
        settings.secret,
        role=Role.VIEWER,
        sub="late",
        district=DISTRICT,
        session=timedelta(hours=1),
        ttl=timedelta(seconds=-1),
    )
    refused(client.get("/login", params={"code": code}), 410, "code_expired")
    refused(confirm(client, code), 410, "code_expired")
    assert f"{CODE_MINUTES} menit" in client.get("/login", params={"code": code}).text


@pytest.mark.parametrize(
    "make",
    [
        lambda s: "nonsense",
        lambda s: "",
        lambda s: "x" * 5000,
        lambda s: bearer(s),  # a bearer token is no code
        lambda s: sign_in_code(Settings(secret="another-secret-" * 3)),
        lambda s: sign_in_code(s)[:-3] + "AAA",  # tampered
        lambda s: mint_code(  # longer-lived than a code may be
            s.secret,
            role=Role.VIEWER,
            sub="long",
            district=DISTRICT,
            session=timedelta(hours=1),
            ttl=CODE_TTL + timedelta(minutes=1),
        ),
    ],
)
def test_a_malformed_code_is_refused(client: TestClient, make: Any) -> None:
    code = make(settings_of(client))
    refused(client.get("/login", params={"code": code}), 400, "code_malformed")
    refused(confirm(client, code), 400, "code_malformed")


def test_a_code_is_no_bearer_token(client: TestClient) -> None:
    code = sign_in_code(settings_of(client))
    r = client.get(f"/resilience/districts/{DISTRICT}", headers={"Authorization": f"Bearer {code}"})
    assert r.status_code == 401
    client.cookies.set("lumbung_token", code)
    assert client.get(f"/dashboard/districts/{DISTRICT}").status_code == 303


def test_a_token_in_a_link_signs_nobody_in(client: TestClient) -> None:
    token = bearer(settings_of(client))
    r = client.get("/login", params={"token": token, "next": f"/dashboard/districts/{DISTRICT}"})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    assert 'data-alert="token_link_gone"' in r.text and token not in r.text


# where a post may come from ---------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},
        {"Origin": "NULL"},
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_posts_from_elsewhere_are_refused(client: TestClient, headers: dict[str, str]) -> None:
    settings = settings_of(client)
    code = sign_in_code(settings)
    refused(confirm(client, code, **headers), 403, "cross_site")
    token = bearer(settings)
    r = client.post("/login", content=f"token={token}", headers={**FORM, **headers})
    refused(r, 403, "cross_site")
    client.cookies.set("lumbung_token", token)
    refused(client.post("/logout", headers=headers), 403, "cross_site")
    assert client.get(f"/dashboard/districts/{DISTRICT}").status_code == 200  # still signed in
    assert confirm(client, code).status_code == 303  # the refused code was not spent


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "https://lumbung.example", "Sec-Fetch-Site": "same-origin"},  # behind a proxy
        {},  # no browser
    ],
)
def test_posts_from_the_dashboard_itself_are_taken(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert confirm(client, sign_in_code(settings_of(client)), **headers).status_code == 303
    r = client.post("/logout", headers=headers)
    assert r.status_code == 303 and 'lumbung_token=""' in r.headers["set-cookie"]


def test_a_link_to_logout_does_not_sign_out(client: TestClient) -> None:
    client.cookies.set("lumbung_token", bearer(settings_of(client)))
    r = client.get("/logout")
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert 'method="post" action="/logout"' in r.text


# no secret in any address -----------------------------------------------------------------
def addresses(r: Any) -> list[str]:
    found = [r.headers.get("location", "")]
    found += [a or b for a, b in ADDRESS.findall(r.text)]
    return [a for a in found if a]


def test_no_address_carries_a_token_or_code_after_signing_in(client: TestClient) -> None:
    code = sign_in_code(settings_of(client))
    r = confirm(client, code)
    session = client.cookies["lumbung_token"]
    seen = addresses(r)
    hops = 0
    while r.status_code in (302, 303, 307) and hops < 5:
        r = client.get(r.headers["location"])
        seen += addresses(r)
        hops += 1
    assert r.status_code == 200
    for path in PAGES:
        for lang in ("id", "en"):
            r = client.get(path, params={"as_of": AS_OF, "lang": lang})
            seen += addresses(r)
    r = client.get(f"/dashboard/villages/{VILLAGE}", params={"token": session, "code": code})
    seen += addresses(r)  # even when the address it came by carried them
    client.cookies.clear()
    r = client.get(f"/dashboard/villages/{VILLAGE}", params={"token": session, "as_of": AS_OF})
    seen += addresses(r)  # the way to the login page
    r = client.get("/login", params={"next": f"/dashboard/villages/{VILLAGE}?token={session}"})
    seen += addresses(r)
    assert len(seen) > 50
    for address in seen:
        assert session not in address and code not in address, address
        assert "token=" not in address and "code=" not in address, address
        assert not address.startswith("//") and "evil" not in address, address


def test_a_sign_in_goes_back_only_to_a_local_page_without_secrets(client: TestClient) -> None:
    settings = settings_of(client)
    for target, landing in (
        (f"/dashboard/villages/{VILLAGE}?as_of={AS_OF}&token=x", f"/dashboard/villages/{VILLAGE}"),
        ("//evil.example/x", f"/dashboard/districts/{DISTRICT}"),
        ("https://evil.example/", f"/dashboard/districts/{DISTRICT}"),
    ):
        r = client.post("/login", data={"code": sign_in_code(settings), "next": target})
        assert r.status_code == 303
        assert r.headers["location"].split("?")[0] == landing
        assert "token" not in r.headers["location"]


# no redirect to the request's host --------------------------------------------------------
def apps(tmp: Path) -> Iterator[tuple[str, FastAPI]]:
    settings = Settings(data_dir=tmp)
    yield "embedded", embedded_app(settings)
    for name in SERVICES:
        yield name, service_app(name, Settings(data_dir=tmp / name))


def test_no_redirect_names_the_host_header(tmp_path: Path) -> None:
    """Starlette's trailing-slash redirect answered ``Host: evil.example`` with a 307 to
    ``http://evil.example/...``: now it names a path on this server, for every app."""
    for name, app in apps(tmp_path):
        client = TestClient(app, follow_redirects=False)  # no lifespan: nothing runs
        plain = [
            (m, p)
            for m, p in route_table(app)
            if "{" not in p and p != "/" and m in ("GET", "POST")
        ]
        assert plain, name
        for method, path in plain:
            r = client.request(method, f"{path}/?a=1&b=%2F", headers={"Host": "evil.example"})
            assert r.status_code == 307, (name, method, path)
            assert r.headers["location"] == f"{path}?a=1&b=%2F", (name, path)
        for probe in ("//evil.example/healthz/", "/\\evil.example/healthz/", "/nowhere/"):
            r = client.get(f"http://testserver{probe}", headers={"Host": "evil.example"})
            assert r.status_code == 404 and "location" not in r.headers, (name, probe)
        r = client.get("/healthz/", headers={"Host": "evil.example"})
        assert r.headers["location"] == "/healthz"
        assert client.get("/healthz").status_code in (200, 503)  # the paths themselves stay
        app.state.runtime.close()
