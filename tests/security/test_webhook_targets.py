"""SSRF: by default a webhook may not point into the platform's own network, neither when it
is created (422 naming ``url``) nor when it is delivered (the host is resolved again and only
a checked address is connected to)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.agriculture.service import SERVICE as AGRICULTURE
from services.agriculture.targets import address_allowed
from services.agriculture.webhooks import http_post, http_post_any_address
from shared.adapters.inproc_bus import InProcessBus
from shared.adapters.sqlite_store import SqliteStore
from shared.auth import Role
from shared.http import create_app
from shared.runtime import bootstrap
from shared.settings import Settings
from tests.conftest import token
from tests.integration.test_webhooks import Receiver

A = "3204052001"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.9", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fd00::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:127.0.0.1", False),
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_only_globally_routable_addresses_are_allowed(address: str, allowed: bool) -> None:
    assert address_allowed(address) is allowed


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(data_dir=tmp_path)  # the default: no private targets
    runtime = bootstrap(
        settings,
        [AGRICULTURE],
        label="agriculture",
        store=SqliteStore(tmp_path / "s.sqlite3"),
        bus=InProcessBus(tmp_path / "bus.sqlite3", partitions=3),
    )
    with TestClient(create_app(runtime, title="t", background=False)) as c:
        yield c, settings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hook",
        "http://0x7f000001/hook",
    ],
)
def test_a_webhook_into_the_private_network_is_refused(
    client: tuple[TestClient, Settings], url: str
) -> None:
    c, settings = client
    headers = token(settings, Role.EXTENSION_WORKER, villages=[A])
    r = c.post("/agriculture/webhooks", json={"url": url}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "url"]
    assert "alamat publik" in r.json()["detail"]
    assert c.get("/agriculture/webhooks", headers=headers).json() == []


@pytest.mark.parametrize(
    "url", ["https://93.184.216.34/hook", "https://penyuluh.example.invalid/lumbung"]
)
def test_public_or_not_yet_resolvable_hosts_are_accepted(
    client: tuple[TestClient, Settings], url: str
) -> None:
    c, settings = client
    headers = token(settings, Role.EXTENSION_WORKER, villages=[A])
    r = c.post("/agriculture/webhooks", json={"url": url}, headers=headers)
    assert r.status_code == 201, r.text


def test_delivery_to_a_private_address_fails_with_its_reason_and_sends_nothing() -> None:
    receiver = Receiver()
    try:
        refused = http_post(receiver.url, b"{}", {"X-Lumbung-Event-Id": "ev-1"}, 2)
        assert not refused.ok
        assert "private or reserved" in (refused.error or "")
        assert receiver.attempts == []
        receiver.always_fail = True  # answers 503: the request itself went through
        sent = http_post_any_address(receiver.url, b"{}", {"X-Lumbung-Event-Id": "ev-2"}, 2)
        assert receiver.attempts == ["ev-2"] and sent.error == "HTTP 503"
    finally:
        receiver.close()
