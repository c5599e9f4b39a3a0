"""The dashboard in a real browser: every page loads cleanly on a phone and a desktop, shows
the API's numbers for the same month, switches language, sorts, and keeps to its scope."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import pytest

from services.dashboard.i18n import Translator
from tests.browser.conftest import Site, Tab
from tests.browser.site import (
    AS_OF,
    DISTRICT,
    EARLIER,
    OTHER_VILLAGE,
    PROGRAM,
    THIRD_VILLAGE,
    VILLAGE,
)

HOUSEHOLD = "hh-000"  # in VILLAGE, rentan
STRONG_HOUSEHOLDS = ("hh-002", "hh-020")  # in THIRD_VILLAGE: tangguh, and rentan by a hair
OTHER_HOUSEHOLD = "hh-001"  # in OTHER_VILLAGE
PAGES = {
    "district": f"/dashboard/districts/{DISTRICT}",
    "village": f"/dashboard/villages/{VILLAGE}",
    "households": f"/dashboard/villages/{VILLAGE}/households",
    "household": f"/dashboard/households/{HOUSEHOLD}",
    "program": f"/dashboard/programs/{PROGRAM}",
    "village-berkembang": f"/dashboard/villages/{THIRD_VILLAGE}",
    "household-tangguh": f"/dashboard/households/{STRONG_HOUSEHOLDS[0]}",
}


def api(site: Site, path: str, as_of: str, **scope: Any) -> Any:
    token = site.token(**scope)
    r = httpx.get(
        f"{site.url}{path}",
        params={"as_of": as_of},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def shown(text: str, lang: str) -> float | None:
    """The number a person reads on the page, in either language's notation."""
    text = text.replace("Rp", "").replace("%", "").replace("\u2212", "-").strip()
    text = text.replace("\u00a0", "").replace(" ", "")
    if text in ("\u2013", ""):
        return None
    text = text.replace(".", "").replace(",", ".") if lang == "id" else text.replace(",", "")
    return float(text)


def check_number(element: Any, expected: float | None, lang: str = "id") -> None:
    """The element's machine value is the API's and its visible text says the same."""
    key = element.get_attribute("data-k")
    assert json.loads(element.get_attribute("data-v")) == expected, key
    value = shown(element.inner_text(), lang)
    if expected is None:
        assert value is None, key
    elif element.get_attribute("data-unit") == "pct":
        assert value == pytest.approx(100 * expected, abs=0.051), key
    else:
        assert value == pytest.approx(expected, abs=0.0006), key


def number_in(scope: Any, key: str) -> Any:
    element = scope.locator(f'[data-k="{key}"][data-v]').first
    assert element.count() == 1, f"no number {key} on the page"
    return element


def bar_value(tab: Tab, key: str) -> tuple[Any, str]:
    group = tab.page.locator(f'svg g.bar[data-k="{key}"]')
    assert group.count() == 1, key
    return json.loads(group.get_attribute("data-v")), group.locator("text.value").text_content()


def logged_in(tab_factory: Any, site: Site, viewport: str = "desktop", **scope: Any) -> Tab:
    tab = tab_factory(viewport)
    tab.login(site.code(**scope))
    return tab


# every page, both screens -------------------------------------------------------------
def test_every_page_loads_without_console_errors_on_phone_and_desktop(
    tab_factory: Any, site: Site, viewport: str
) -> None:
    tab = tab_factory(viewport)
    tab.go("/login")
    tab.screenshot(f"login-{viewport}")
    tab.login(site.code())
    assert f"/dashboard/districts/{DISTRICT}" in tab.page.url
    for name, path in PAGES.items():
        tab.go(f"{path}?as_of={AS_OF}")
        assert tab.page.locator("h1").inner_text().strip()
        assert tab.page.locator("[data-v]").count() > 0, f"{name} shows no number"
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= tab.page.viewport_size["width"] + 1, f"{name} scrolls sideways: {width}"
        tab.screenshot(f"{name}-{viewport}")
    many = tab_factory(viewport)
    many.login(site.code(villages=[VILLAGE, OTHER_VILLAGE]))
    assert many.page.url.split("?")[0].endswith("/dashboard/villages")
    many.screenshot(f"my-villages-{viewport}")
    assert tab.errors == [] and many.errors == []


# numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", [AS_OF, EARLIER])
def test_district_and_village_numbers_equal_the_api(
    tab_factory: Any, site: Site, as_of: str
) -> None:
    tab = logged_in(tab_factory, site)
    district = api(site, f"/resilience/districts/{DISTRICT}", as_of)
    tab.go(f"/dashboard/districts/{DISTRICT}?as_of={as_of}")
    figures = tab.page.locator("#district-figures")
    check_number(number_in(figures, "index_mean"), district["index_mean"])
    check_number(number_in(figures, "households_with_data"), district["households_with_data"])
    rows = tab.page.locator("#villages tbody tr")
    assert rows.count() == len(district["villages"])
    for v in district["villages"]:
        row = tab.page.locator(f'#villages tr[data-village="{v["village_code"]}"]')
        for key in ("index_mean", "coverage", "households_with_data"):
            check_number(number_in(row, key), v[key])
        assert row.locator("[data-band]").get_attribute("data-band") == (v["band"] or "")

    for code in (VILLAGE, THIRD_VILLAGE):
        check_village_page(tab, site, code, as_of)
    assert tab.errors == []


def check_village_page(tab: Tab, site: Site, code: str, as_of: str) -> None:
    village = api(site, f"/resilience/villages/{code}", as_of)
    trend = api(site, f"/resilience/villages/{code}/trend", as_of)["items"]
    follow = api(site, f"/resilience/villages/{code}/follow-ups", as_of)["items"]
    tab.go(f"/dashboard/villages/{code}?as_of={as_of}")
    kpis = tab.page.locator("#village-figures")
    for key in (
        "index_mean",
        "households_with_data",
        "households_registered",
        "coverage",
        "digital_share",
        "umkm_active",
        "green_adoption_rate",
    ):
        check_number(number_in(kpis, key), village[key])
    assert kpis.locator("[data-band]").first.get_attribute("data-band") == (village["band"] or "")
    for pillar, value in village["pillars"].items():
        raw, text = bar_value(tab, f"pillar_{pillar}")
        assert raw == value and shown(text, "id") == pytest.approx(value or 0, abs=0.0006)
    for band, count in village["bands"].items():
        raw, text = bar_value(tab, f"bands_{band}")
        assert raw == count and shown(text.split(" ")[0], "id") == count
    for sector in ("umkm", "crop", "livestock", "digital"):
        raw, text = bar_value(tab, f"income_{sector}")
        assert raw == village["income"][sector] and shown(text, "id") == village["income"][sector]
    check_number(number_in(tab.page, "income_total"), village["income"]["total"])
    for stage, count in village["training"]["stages"].items():
        raw, text = bar_value(tab, f"stage_{stage}")
        assert raw == count and shown(text, "id") == count
    check_number(number_in(tab.page, "participants"), village["training"]["participants"])
    check_number(number_in(tab.page, "mean_ngain"), village["training"]["mean_ngain"])
    tab.page.locator("#trend-card summary").click()
    for item in trend:
        row = tab.page.locator(f'#trend tr[data-month="{item["month"]}"]')
        check_number(number_in(row, "index_mean"), item["index_mean"])
        check_number(number_in(row, "households_with_data"), item["households_with_data"])
    shown_follow = tab.page.locator("#follow-ups tbody tr")
    assert shown_follow.count() == len(follow)
    for f in follow:
        selector = f'[data-household="{f["household_id"]}"][data-program="{f["program_id"]}"]'
        row = tab.page.locator(f"#follow-ups tr{selector}")
        assert row.locator("[data-stage]").get_attribute("data-stage") == str(f["stage"])
        assert row.locator("[data-day]").get_attribute("data-day") == (f["last_mentoring_on"] or "")


@pytest.mark.parametrize("as_of", [AS_OF, EARLIER])
def test_household_and_programme_numbers_equal_the_api(
    tab_factory: Any, site: Site, as_of: str
) -> None:
    tab = logged_in(tab_factory, site)
    tr = Translator("id")
    for household in (HOUSEHOLD, *STRONG_HOUSEHOLDS):
        answer = api(site, f"/resilience/households/{household}", as_of)
        tab.go(f"/dashboard/households/{household}?as_of={as_of}")
        check_number(number_in(tab.page.locator("#household-index"), "index"), answer["index"])
        assert (
            tab.page.locator("#household-index [data-band]").get_attribute("data-band")
            == (answer["band"])
        )
        check_number(number_in(tab.page, "shock_factor"), answer["shock_factor"])
        check_number(number_in(tab.page, "income_total"), answer["income"]["total"])
        for pillar, value in answer["pillars"].items():
            check_number(
                number_in(
                    tab.page.locator(f'#pillars tr[data-pillar="{pillar}"]'), f"pillar_{pillar}"
                ),
                value,
            )
            # the raw numbers behind the pillar are on the page
            assert tab.page.locator(f"#pillar-{pillar} .formula").inner_text().strip()
        raw = answer["explain"]
        facts = {
            "income": [
                tr.money(raw["income"]["per_capita_month"]),
                tr.money(raw["income"]["total"]),
            ],
            "assets": [tr.dec(raw["assets"]["tlu"]), tr.dec(raw["assets"]["hectares"])],
            "capacity": [tr.num(raw["capacity"]["u"], 3), tr.num(raw["capacity"]["m"], 3)],
            "green": [tr.pct(raw["green"]["organic_share"]), *raw["green"]["practices"]],
            "digital": [tr.pct(raw["digital"]["digital_share"]), *raw["digital"]["channels"]],
        }
        for pillar, texts in facts.items():
            block = tab.page.locator(f"#pillar-{pillar}").inner_text()
            for text in texts:
                assert text.replace("_", " ") in block, (household, pillar, text)

    items = api(site, f"/resilience/programs/{PROGRAM}/participants", as_of)["items"]
    impact = api(site, f"/resilience/programs/{PROGRAM}/impact", as_of)
    tab.go(f"/dashboard/programs/{PROGRAM}?as_of={as_of}")
    rows = tab.page.locator("#participants tbody tr")
    assert rows.count() == len(items)
    for item in items:
        row = tab.page.locator(f'#participants tr[data-household="{item["household_id"]}"]')
        assert row.get_attribute("data-stage") == str(item["stage"])
    for key in (
        "participants",
        "comparison",
        "before_participants",
        "after_participants",
        "before_comparison",
        "after_comparison",
        "did",
        "months_after",
    ):
        check_number(number_in(tab.page, key), impact[key])
    assert tab.errors == []


def test_month_selector_shows_the_chosen_month(tab_factory: Any, site: Site) -> None:
    tab = logged_in(tab_factory, site, viewport="mobile")
    tab.go(f"/dashboard/villages/{VILLAGE}?as_of={AS_OF}")
    tab.page.select_option("#as_of", EARLIER)
    tab.page.locator("form.month button").click()
    tab.page.wait_for_url(f"**as_of={EARLIER}**")
    village = api(site, f"/resilience/villages/{VILLAGE}", EARLIER)
    check_number(
        number_in(tab.page.locator("#village-figures"), "index_mean"), village["index_mean"]
    )
    assert tab.errors == []


# language -------------------------------------------------------------------------------
def test_language_switch_changes_texts_and_number_notation_and_is_remembered(
    tab_factory: Any, site: Site
) -> None:
    tab = logged_in(tab_factory, site, viewport="mobile")
    tab.go(f"/dashboard/villages/{VILLAGE}?as_of={AS_OF}")
    page = tab.page
    village = api(site, f"/resilience/villages/{VILLAGE}", AS_OF)
    assert page.locator("html").get_attribute("lang") == "id"
    assert "Rata-rata indeks" in page.locator("#village-figures").inner_text()
    income = number_in(page, "income_total")
    assert "." in income.inner_text()  # Indonesian thousands separator
    check_number(income, village["income"]["total"], "id")

    page.locator('a[data-lang="en"]').click()
    page.wait_for_url("**lang=en**")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Mean index" in page.locator("#village-figures").inner_text()
    check_number(number_in(page, "income_total"), village["income"]["total"], "en")
    assert "," in number_in(page, "income_total").inner_text()
    check_number(number_in(page, "coverage"), village["coverage"], "en")

    tab.go(f"/dashboard/districts/{DISTRICT}?as_of={AS_OF}")  # no ?lang: the cookie decides
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Villages of this district" in page.locator("main").inner_text()
    tab.screenshot("district-desktop-en")

    page.locator('a[data-lang="id"]').click()
    page.wait_for_url("**lang=id**")
    assert page.locator("html").get_attribute("lang") == "id"
    assert "Desa di kabupaten ini" in page.locator("main").inner_text()
    assert tab.errors == []


# sorting --------------------------------------------------------------------------------
def _column(tab: Tab, key: str) -> list[Any]:
    cells = tab.page.locator(f'#villages tbody [data-k="{key}"]')
    return [json.loads(cells.nth(i).get_attribute("data-v")) for i in range(cells.count())]


def test_sorting_the_district_table(tab_factory: Any, site: Site) -> None:
    tab = logged_in(tab_factory, site, viewport="mobile")
    district = api(site, f"/resilience/districts/{DISTRICT}", AS_OF)
    tab.go(f"/dashboard/districts/{DISTRICT}?as_of={AS_OF}")
    page = tab.page
    indexes = [v["index_mean"] for v in district["villages"]]
    assert _column(tab, "index_mean") == sorted(indexes)  # default: lowest index first

    page.locator('#villages a[data-sort="index"]').click()
    page.wait_for_url("**dir=desc**")
    assert _column(tab, "index_mean") == sorted(indexes, reverse=True)
    assert page.locator('#villages th[aria-sort="descending"]').count() == 1

    page.locator('#villages a[data-sort="households"]').click()
    page.wait_for_url("**sort=households**")
    counts = [v["households_with_data"] for v in district["villages"]]
    assert _column(tab, "households_with_data") == sorted(counts)

    page.locator('#villages a[data-sort="name"]').click()
    page.wait_for_url("**sort=name**")
    names = page.locator("#villages tbody th a").all_inner_texts()
    assert names == sorted(names, key=str.casefold)
    assert len(names) == len(district["villages"])

    # the sort order survives choosing another month
    page.locator("form.month button").click()
    page.wait_for_url("**sort=name**")
    assert page.locator("#villages tbody th a").all_inner_texts() == names
    assert tab.errors == []


# scope ----------------------------------------------------------------------------------
def test_a_village_user_sees_only_its_village(tab_factory: Any, site: Site) -> None:
    tab = tab_factory("mobile")
    tab.login(site.code(villages=[VILLAGE]))
    assert tab.page.url.split("?")[0].endswith(f"/dashboard/villages/{VILLAGE}")
    assert tab.page.locator("[data-v]").count() > 0
    for path in (
        f"/dashboard/villages/{OTHER_VILLAGE}",
        f"/dashboard/villages/{OTHER_VILLAGE}/households",
        f"/dashboard/households/{OTHER_HOUSEHOLD}",
        f"/dashboard/districts/{DISTRICT}",
    ):
        tab.go(f"{path}?as_of={AS_OF}", status=403)
        assert tab.page.locator("[data-status='403']").count() == 1
        assert tab.page.locator("[data-v]").count() == 0, f"{path} leaked numbers"
        assert OTHER_VILLAGE not in tab.page.locator("main").inner_text()
    tab.screenshot("forbidden-mobile")
    # the programme covers three villages: this user sees only its own participants
    tab.go(f"/dashboard/programs/{PROGRAM}?as_of={AS_OF}")
    mine = api(site, f"/resilience/programs/{PROGRAM}/participants", AS_OF, villages=[VILLAGE])
    assert tab.page.locator("#participants tbody tr").count() == len(mine["items"])
    assert tab.page.locator(f'#participants tr[data-household="{OTHER_HOUSEHOLD}"]').count() == 0


def test_login_form_then_logout(tab_factory: Any, site: Site) -> None:
    tab = tab_factory("mobile")
    target = f"/dashboard/villages/{VILLAGE}?as_of={EARLIER}"
    tab.page.goto(site.url + target)
    tab.page.wait_for_url("**/login?next=**")
    tab.page.fill("#token", "not-a-token")
    tab.page.locator("form.login button").click()
    assert tab.page.locator(".alert").count() == 1
    tab.page.fill("#token", site.token(villages=[VILLAGE]))
    tab.page.locator("form.login button").click()
    tab.page.wait_for_url(f"**{target}")
    assert tab.page.locator("#village-figures").count() == 1
    cookies = tab.page.context.cookies()
    session = next(c for c in cookies if c["name"] == "lumbung_token")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    tab.page.locator("form.logout button").click()
    tab.page.wait_for_url("**/login")
    tab.page.goto(site.url + target)
    tab.page.wait_for_url("**/login?next=**")


# sign-in links ---------------------------------------------------------------------------
def addresses(tab: Tab) -> list[str]:
    """Every address the page holds: links, form targets, stylesheets, icons."""
    return tab.page.eval_on_selector_all(
        "a[href], link[href], form[action]",
        "els => els.map(e => e.getAttribute('href') || e.getAttribute('action'))",
    )


def test_a_sign_in_link_asks_first_and_leaves_no_secret_in_any_address(
    tab_factory: Any, site: Site
) -> None:
    tab = tab_factory("mobile")
    code = site.code(villages=[VILLAGE])
    tab.go(f"/login?code={code}")
    assert tab.page.context.cookies() == []  # opening the link signs nobody in
    assert tab.page.locator("[data-who='sub']").inner_text() == "dashboard-test"
    tab.screenshot("sign-in-confirm-mobile")
    tab.page.locator("a[data-lang='en']").click()  # the switch keeps the link usable
    tab.page.wait_for_url("**lang=en**")
    assert "You are about to sign in as" in tab.page.locator("main").inner_text()
    tab.page.locator("form.confirm button").click()
    tab.page.wait_for_url(f"**/dashboard/villages/{VILLAGE}")
    session = next(c for c in tab.page.context.cookies() if c["name"] == "lumbung_token")
    for path in (f"/dashboard/villages/{VILLAGE}", f"/dashboard/households/{HOUSEHOLD}"):
        if path not in tab.page.url:
            tab.go(f"{path}?as_of={AS_OF}")
        for seen in (tab.page.url, *addresses(tab)):
            assert code not in seen and session["value"] not in seen, seen
            assert "code=" not in seen and "token=" not in seen, seen
    assert tab.errors == []
    tab.go(f"/login?code={code}", status=409)  # spent
    assert tab.page.locator("[data-refused='code_used']").count() == 1


def test_a_sign_in_form_from_another_site_is_refused(tab_factory: Any, site: Site) -> None:
    tab = tab_factory()
    tab.page.set_content(
        f'<form method="post" action="{site.url}/login">'
        f'<input type="hidden" name="code" value="{site.code()}"><button>go</button></form>'
    )
    with tab.page.expect_navigation():
        tab.page.locator("button").click()
    assert tab.page.locator("[data-refused='cross_site']").count() == 1
    assert tab.page.context.cookies() == []
