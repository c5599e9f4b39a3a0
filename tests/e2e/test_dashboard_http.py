"""The dashboard over HTTP: pages answer with the API's numbers, a missing token leads to the
login page, another village's page is a 403 without data, the language switch is
remembered, and every answer carries the security headers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from services.dashboard.i18n import MESSAGES, Translator
from services.dashboard.security import CSP
from services.dashboard.signin import mint_code
from shared.auth import Role
from shared.settings import Settings
from tests.browser.site import (
    AS_OF,
    DISTRICT,
    EARLIER,
    OTHER_VILLAGE,
    PROGRAM,
    VILLAGE,
    bearer,
    consume,
    dashboard_app,
    publish_scenario,
)

HOUSEHOLD, OTHER_HOUSEHOLD = "hh-000", "hh-001"
DATA = re.compile(r'data-k="([a-z_0-9]+)" data-v="([^"]*)"')
PAGES = (
    f"/dashboard/districts/{DISTRICT}",
    f"/dashboard/villages/{VILLAGE}",
    f"/dashboard/villages/{VILLAGE}/households",
    f"/dashboard/households/{HOUSEHOLD}",
    f"/dashboard/programs/{PROGRAM}",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("dashboard"))
    app = dashboard_app(settings, background=False)
    with TestClient(app, follow_redirects=False) as client:
        runtime = app.state.runtime
        publish_scenario(runtime)
        consume(runtime)
        yield client, settings


@pytest.fixture
def client(site: tuple[TestClient, Settings]) -> TestClient:
    site[0].cookies.clear()
    return site[0]


def auth(settings: Settings, **scope: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer(settings, **scope)}"}


def numbers(html: str) -> dict[str, list[Any]]:
    """Every machine-readable number on a page, by key, in page order."""
    found: dict[str, list[Any]] = {}
    for key, raw in DATA.findall(html):
        found.setdefault(key, []).append(json.loads(raw.replace("&#34;", '"')))
    return found


def test_every_page_answers_with_data(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    for path in PAGES:
        r = client.get(path, params={"as_of": AS_OF}, headers=auth(settings))
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert numbers(r.text), f"{path} shows no number"
        assert '<html lang="id">' in r.text


def test_numbers_are_the_apis_for_the_same_month(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    headers = auth(settings)
    for month in (AS_OF, EARLIER):
        api = client.get(
            f"/resilience/villages/{VILLAGE}", params={"as_of": month}, headers=headers
        )
        page = client.get(
            f"/dashboard/villages/{VILLAGE}", params={"as_of": month}, headers=headers
        )
        shown, village = numbers(page.text), api.json()
        for key in (
            "index_mean",
            "coverage",
            "digital_share",
            "umkm_active",
            "households_registered",
        ):
            assert shown[key][0] == village[key], (month, key)
        for pillar, value in village["pillars"].items():
            assert shown[f"pillar_{pillar}"] == [value]
        for stage, count in village["training"]["stages"].items():
            assert shown[f"stage_{stage}"] == [count]

        api = client.get(
            f"/resilience/districts/{DISTRICT}", params={"as_of": month}, headers=headers
        )
        page = client.get(
            f"/dashboard/districts/{DISTRICT}",
            params={"as_of": month, "sort": "code"},
            headers=headers,
        )
        shown, district = numbers(page.text), api.json()
        assert shown["index_mean"][0] == district["index_mean"]
        assert shown["index_mean"][1:] == [v["index_mean"] for v in district["villages"]]
        assert shown["coverage"] == [v["coverage"] for v in district["villages"]]

        api = client.get(
            f"/resilience/households/{HOUSEHOLD}", params={"as_of": month}, headers=headers
        )
        page = client.get(
            f"/dashboard/households/{HOUSEHOLD}", params={"as_of": month}, headers=headers
        )
        shown, answer = numbers(page.text), api.json()
        assert shown["index"] == [answer["index"]]
        assert shown["shock_factor"] == [answer["shock_factor"]]
        for pillar, value in answer["pillars"].items():
            assert shown[f"pillar_{pillar}"] == [value]

        api = client.get(
            f"/resilience/programs/{PROGRAM}/impact", params={"as_of": month}, headers=headers
        )
        page = client.get(
            f"/dashboard/programs/{PROGRAM}", params={"as_of": month}, headers=headers
        )
        shown, impact = numbers(page.text), api.json()
        for key in ("participants", "comparison", "before_participants", "after_comparison", "did"):
            assert shown[key] == [impact[key]], (month, key)


def test_household_page_explains_each_pillar_with_its_raw_numbers(
    site: tuple[TestClient, Settings],
) -> None:
    client, settings = site
    r = client.get(
        f"/dashboard/households/{HOUSEHOLD}", params={"as_of": AS_OF}, headers=auth(settings)
    )
    answer = client.get(
        f"/resilience/households/{HOUSEHOLD}", params={"as_of": AS_OF}, headers=auth(settings)
    ).json()
    tr = Translator("id")
    for pillar in answer["pillars"]:
        assert f'id="pillar-{pillar}"' in r.text
    income = answer["explain"]["income"]
    assert tr.money(income["per_capita_month"]) in r.text
    assert tr.money(income["target_per_capita_month"]) in r.text
    assert f"{tr.num(answer['index'], 1)}" in r.text
    assert "Mengapa kelompok ini?" in r.text and tr.band(answer["band"]) in r.text


def test_no_token_leads_to_the_login_page_and_back(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    client.cookies.clear()
    r = client.get(f"/dashboard/villages/{VILLAGE}", params={"as_of": AS_OF})
    assert r.status_code == 303
    assert (
        r.headers["location"]
        == f"/login?next=%2Fdashboard%2Fvillages%2F{VILLAGE}%3Fas_of%3D{AS_OF}"
    )
    assert client.get("/").headers["location"].startswith("/login")

    client.cookies.set("lumbung_token", "expired-or-forged")
    r = client.get(f"/dashboard/villages/{VILLAGE}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert 'lumbung_token=""' in r.headers["set-cookie"]  # the stale cookie is dropped
    client.cookies.clear()

    token = bearer(settings, villages=[VILLAGE])
    r = client.post(
        "/login",
        content=f"token={token}&next=%2Fdashboard%2Fvillages%2F{VILLAGE}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/villages/{VILLAGE}"
    cookie = r.headers["set-cookie"]
    assert "lumbung_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get(f"/dashboard/villages/{VILLAGE}").status_code == 200
    assert client.get("/").headers["location"] == f"/dashboard/villages/{VILLAGE}"
    r = client.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.clear()


def sign_in_code(settings: Settings, **scope: Any) -> str:
    return mint_code(
        settings.secret,
        role=Role.VIEWER,
        sub="dashboard-test",
        **(scope or {"district": DISTRICT}),
        session=timedelta(hours=1),
    )


def test_a_sign_in_link_asks_to_confirm_then_signs_in_once(client: TestClient) -> None:
    settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    code = sign_in_code(settings)
    r = client.get("/login", params={"code": code})
    assert r.status_code == 200 and "set-cookie" not in r.headers  # opening is not signing in
    assert "Anda akan masuk sebagai" in r.text and "dashboard-test" in r.text
    r = client.post("/login", data={"code": code, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/districts/{DISTRICT}"
    assert "HttpOnly" in r.headers["set-cookie"]
    client.cookies.clear()
    r = client.post("/login", data={"code": code})
    assert r.status_code == 409 and "set-cookie" not in r.headers
    r = client.get("/login", params={"code": "nonsense"})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    assert MESSAGES["code_malformed"][0] in r.text
    r = client.post("/login", data={"code": sign_in_code(settings), "next": "//evil.example/x"})
    assert r.headers["location"].startswith("/dashboard/districts/")  # never another host
    client.cookies.clear()


def test_a_login_link_with_a_token_no_longer_signs_in(client: TestClient) -> None:
    token = bearer(client.app.state.runtime.settings)  # type: ignore[attr-defined]
    r = client.get("/login", params={"token": token})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    assert MESSAGES["token_link_gone"][0] in r.text and token not in r.text


def test_a_cross_site_login_post_is_refused(client: TestClient) -> None:
    token = bearer(client.app.state.runtime.settings)  # type: ignore[attr-defined]
    for origin in ("https://evil.example", "null"):
        r = client.post(
            "/login",
            content=f"token={token}",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
        )
        assert r.status_code == 403 and "set-cookie" not in r.headers, origin
        assert MESSAGES["cross_site"][0] in r.text


def test_home_goes_to_the_overview_of_the_tokens_scope(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    assert client.get("/", headers=auth(settings)).headers["location"] == (
        f"/dashboard/districts/{DISTRICT}"
    )
    one = auth(settings, villages=[VILLAGE])
    assert client.get("/", headers=one).headers["location"] == f"/dashboard/villages/{VILLAGE}"
    two = auth(settings, villages=[VILLAGE, OTHER_VILLAGE])
    assert client.get("/", headers=two).headers["location"] == "/dashboard/villages"
    r = client.get("/dashboard/villages", params={"as_of": AS_OF}, headers=two)
    assert r.status_code == 200
    assert f'data-village="{VILLAGE}"' in r.text and f'data-village="{OTHER_VILLAGE}"' in r.text


def test_out_of_scope_pages_are_403_without_data(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    mine = auth(settings, villages=[VILLAGE])
    for path in (
        f"/dashboard/villages/{OTHER_VILLAGE}",
        f"/dashboard/villages/{OTHER_VILLAGE}/households",
        f"/dashboard/households/{OTHER_HOUSEHOLD}",
        f"/dashboard/districts/{DISTRICT}",
    ):
        r = client.get(path, params={"as_of": AS_OF}, headers=mine)
        assert r.status_code == 403, path
        main = r.text.split("<main", 1)[1]
        assert not numbers(main) and OTHER_VILLAGE not in main
        assert "Di luar akses Anda" in r.text
    foreign = auth(settings, district="3301")
    r = client.get(f"/dashboard/programs/{PROGRAM}", headers=foreign)
    assert r.status_code == 403 and not numbers(r.text)


def test_unknown_ids_and_bad_months_are_html_errors(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    headers = auth(settings)
    for path in (
        "/dashboard/villages/3204999999",
        "/dashboard/households/hh-nobody",
        "/dashboard/programs/prog-none",
        "/dashboard/villages/not-a-code",
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
    for month in ("2026-13", "next", "2999-01"):
        r = client.get(f"/dashboard/villages/{VILLAGE}", params={"as_of": month}, headers=headers)
        assert r.status_code == 422, month
        assert "Permintaan tidak valid" in r.text


def test_language_switch_is_remembered_and_formats_numbers(
    site: tuple[TestClient, Settings],
) -> None:
    client, settings = site
    headers = auth(settings)
    village = client.get(
        f"/resilience/villages/{VILLAGE}", params={"as_of": AS_OF}, headers=headers
    ).json()
    path = f"/dashboard/villages/{VILLAGE}"
    r = client.get(path, params={"as_of": AS_OF}, headers=headers)
    assert "Rata-rata indeks" in r.text
    assert Translator("id").money(village["income"]["total"]) in r.text
    r = client.get(path, params={"as_of": AS_OF, "lang": "en"}, headers=headers)
    assert '<html lang="en">' in r.text and "Mean index" in r.text
    assert Translator("en").money(village["income"]["total"]) in r.text
    assert "lumbung_lang=en" in r.headers["set-cookie"]
    r = client.get(path, params={"as_of": AS_OF}, headers=headers)  # the cookie remembers
    assert '<html lang="en">' in r.text
    r = client.get(path, params={"as_of": AS_OF, "lang": "id"}, headers=headers)
    assert '<html lang="id">' in r.text
    client.cookies.clear()


def test_number_formats_of_both_languages() -> None:
    id_, en = Translator("id"), Translator("en")
    assert id_.num(1234567) == "1.234.567" and en.num(1234567) == "1,234,567"
    assert id_.num(54.25, 1) == "54,2" or id_.num(54.25, 1) == "54,3"
    assert id_.num(0.4135, 3) == "0,414" or id_.num(0.4135, 3) == "0,413"
    assert id_.pct(0.458) == "45,8%" and en.pct(0.458) == "45.8%"
    assert id_.money(1500000) == "Rp\u00a01.500.000"
    assert id_.dec(1.2) == "1,2" and en.dec(150.0) == "150" and en.dec(1.95) == "1.95"
    assert id_.num(None) == "\u2013" and id_.num(-5) == "\u22125"
    assert set(MESSAGES) and all(len(texts) == 2 and all(texts) for texts in MESSAGES.values())


def test_district_table_sorts_on_the_server(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    headers = auth(settings)
    district = client.get(
        f"/resilience/districts/{DISTRICT}", params={"as_of": AS_OF}, headers=headers
    ).json()
    indexes = [v["index_mean"] for v in district["villages"]]
    for direction, expected in (("asc", sorted(indexes)), ("desc", sorted(indexes, reverse=True))):
        r = client.get(
            f"/dashboard/districts/{DISTRICT}",
            params={"as_of": AS_OF, "sort": "index", "dir": direction},
            headers=headers,
        )
        assert numbers(r.text)["index_mean"][1:] == expected
        assert f'aria-sort="{direction}ending"' in r.text
    r = client.get(
        f"/dashboard/districts/{DISTRICT}",
        params={"as_of": AS_OF, "sort": "no-such-column"},
        headers=headers,
    )
    assert r.status_code == 200
    # the district's own name already says "Kabupaten": the title does not repeat it
    assert "<title>Kabupaten Uji · Lumbung</title>" in r.text


def test_security_headers_on_every_kind_of_answer(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    answers = [
        client.get(f"/dashboard/villages/{VILLAGE}", headers=auth(settings)),
        client.get(
            f"/dashboard/villages/{OTHER_VILLAGE}", headers=auth(settings, villages=[VILLAGE])
        ),
        client.get("/dashboard/villages/3204999999", headers=auth(settings)),
        client.get(f"/dashboard/villages/{VILLAGE}"),  # redirect to login
        client.get("/login"),
        client.get("/dashboard/static/dashboard.css"),
        client.post("/logout"),
    ]
    for r in answers:
        assert r.headers["content-security-policy"] == CSP, r.url
        assert "script-src 'none'" in CSP and "frame-ancestors 'none'" in CSP
        assert "unsafe-inline" not in CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
    assert answers[0].headers["cache-control"] == "no-store"
    assert answers[5].headers["content-type"].startswith("text/css")
    assert client.get("/dashboard/static/../routes.py").status_code == 404
    client.cookies.clear()


def test_pages_hold_no_inline_script_or_style() -> None:
    templates = Path(__file__).resolve().parents[2] / "services" / "dashboard" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text()
        assert "<script" not in text and "style=" not in text and "<style" not in text, template


def test_charts_are_well_formed_accessible_svg(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    r = client.get(
        f"/dashboard/villages/{VILLAGE}", params={"as_of": AS_OF}, headers=auth(settings)
    )
    charts = re.findall(r"<svg .*?</svg>(?=\s*</div>)", r.text, flags=re.S)
    assert len(charts) == 5  # pillars, bands, trend, income, funnel
    for chart in charts:
        svg = ElementTree.fromstring(chart)
        ns = "{http://www.w3.org/2000/svg}"
        assert svg.get("role") == "img" and svg.get("aria-labelledby")
        assert svg.find(f"{ns}title") is not None and svg.find(f"{ns}desc").text
        assert "style=" not in chart


def test_a_local_visitor_of_the_embedded_demo_lands_on_the_demo_district(
    tmp_path: Path,
) -> None:
    """`make run` then opening http://127.0.0.1:8000 shows the demo with no further step:
    only in embedded mode, only from loopback, only the fictional district, read-only."""
    from services.main import embedded_app
    from tests.conftest import token

    settings = Settings(data_dir=tmp_path / "demo")
    demo_admin = token(settings, Role.DISTRICT_ADMIN, district="9901")
    app = embedded_app(settings)
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/", follow_redirects=False).status_code == 303  # no demo yet: login
        local.post(
            "/registry/villages",
            headers=demo_admin,
            json={
                "village_code": "9901012001",
                "name": "Sawahlega",
                "district_code": "9901",
                "district_name": "Kabupaten Lumbung (Demo)",
            },
        ).raise_for_status()
        for worker in app.state.runtime.workers:
            worker.run_until_idle()
        first = local.get("/", follow_redirects=False)
        assert first.headers["location"] == "/dashboard/districts/9901"
        assert "lumbung_token" in first.cookies
        page = local.get("/dashboard/districts/9901")
        assert page.status_code == 200 and "Sawahlega" in page.text
        viewer = local.cookies["lumbung_token"]
        r = local.post(
            "/registry/households",
            json={"village_code": "9901012001", "members": 2},
            headers={"Authorization": f"Bearer {viewer}"},
        )
        assert r.status_code == 403  # the demo session only reads
    with TestClient(embedded_app(settings), client=("203.0.113.9", 50000)) as remote:
        assert remote.get("/", follow_redirects=False).headers["location"].startswith("/login")
