"""A real uvicorn server (embedded platform plus dashboard, seeded) and Debian's Chromium
driven by Playwright. No browser is downloaded: the tests use /usr/bin/chromium, and skip
without it unless LUMBUNG_REQUIRE_SERVERS=1 (as in `make test`), where they fail instead."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from shared.runtime import Runtime
from shared.settings import Settings
from tests.browser.site import bearer, dashboard_app, publish_scenario
from tests.e2e.test_dashboard_http import sign_in_code
from tests.servers import ROOT, free_port, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORTS = {"mobile": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def _unavailable(reason: str) -> None:
    if os.environ.get("LUMBUNG_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason}, although make test should have installed it")
    pytest.skip(f"{reason}: install Debian's chromium (apt-get install chromium)")


@dataclass
class Site:
    url: str
    settings: Settings
    runtime: Runtime

    def token(self, **scope: Any) -> str:
        return bearer(self.settings, **scope)

    def code(self, **scope: Any) -> str:
        """A one-time sign-in code for the same principal as :meth:`token`."""
        return sign_in_code(self.settings, **scope)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The embedded platform on a free port, with the seeded history consumed."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("dashboard-data"))
    app = dashboard_app(settings, background=True)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=30, what="uvicorn to start")
    runtime: Runtime = app.state.runtime
    published = publish_scenario(runtime)
    wait_for(
        lambda: (
            sum(
                w.processed
                for w in runtime.workers
                if getattr(w, "group", "") == settings.consumer_group
            )
            >= published
        ),
        timeout_s=60,
        what="the aggregator to consume the scenario",
    )
    yield Site(f"http://127.0.0.1:{port}", settings, runtime)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Tab:
    """One browser page that records console errors, page errors and failed requests."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)

    def _failed(self, request: Any) -> None:
        # A navigation (e.g. a click before the page is done) cancels what it still loads.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} {request.failure}")

    def go(self, path: str, status: int = 200) -> Any:
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None
        assert response.status == status, f"{path}: {response.status}"
        return response

    def login(self, code: str, next_path: str | None = None) -> None:
        """The printed-link sign-in: /login?code=, confirm, then the redirect to the target."""
        query = f"/login?code={code}" + (f"&next={next_path}" if next_path else "")
        self.go(query)
        self.page.locator("form.confirm button").click()
        self.page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
        self.page.wait_for_load_state("load")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tab_factory(browser: Any, site: Site) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(viewport: str = "desktop") -> Tab:
        mobile = viewport == "mobile"
        context = browser.new_context(
            viewport=VIEWPORTS[viewport],
            device_scale_factor=2 if mobile else 1,
            is_mobile=mobile,
            has_touch=mobile,
        )
        contexts.append(context)
        return Tab(context.new_page(), site.url)

    yield make
    for context in contexts:
        context.close()
