"""Hostile HTTP input: oversized and streamed bodies, deep JSON, odd content types, huge
numbers, NUL bytes and odd unicode, traversal and overlong ids.

Every refusal is a 4xx problem+json without a stack trace, and records nothing. The body
limit is also checked on a real uvicorn process, where a chunked body arrives over a socket.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.auth import Role, mint_token
from shared.settings import Settings
from tests.security.conftest import quiet_client
from tests.servers import LumbungProcess

A = "3204052001"
LIMIT = 4096
SECRET = Settings().secret
ADMIN = {
    "Authorization": "Bearer "
    + mint_token(SECRET, role=Role.DISTRICT_ADMIN, sub="hostile", district="3204")
}
JSON = {**ADMIN, "Content-Type": "application/json"}
STACK_TRACE = re.compile(r'Traceback|File "|site-packages|line [0-9]+, in |[A-Za-z]+Error\b')


def assert_clean_refusal(r: Any, *statuses: int) -> dict[str, Any]:
    """A 4xx problem+json that names no Python internals."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if statuses:
        assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    problem = r.json()
    assert problem["status"] == r.status_code
    assert {"type", "title", "detail"} <= set(problem)
    assert not STACK_TRACE.search(r.text), r.text[:300]
    return problem


def _with_village_a(client: TestClient) -> TestClient:
    r = client.post(
        "/registry/villages",
        headers=ADMIN,
        json={"village_code": A, "name": "Desa A", "district_code": "3204", "district_name": "K"},
    )
    assert r.status_code == 201, r.text
    return client


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    """All services with the default body limit (256 KiB), village A registered."""
    with quiet_client(tmp_path) as client:
        yield _with_village_a(client)


@pytest.fixture
def small(tmp_path: Path) -> Iterator[TestClient]:
    """The same with a 4 KiB body limit."""
    with quiet_client(tmp_path, max_body_bytes=LIMIT) as client:
        yield _with_village_a(client)


def backlog(client: TestClient) -> int:
    return client.app.state.runtime.store.outbox_backlog()


def household_body(**extra: Any) -> dict[str, Any]:
    return {"village_code": A, "members": 3, **extra}


def padded(size: int) -> bytes:
    """A valid household body of about ``size`` bytes (the padding is the head's name)."""
    head = b'{"village_code":"' + A.encode() + b'","members":3,"head_name":"'
    return head + b"x" * max(0, size - len(head) - 2) + b'"}'


# oversized bodies ----------------------------------------------------------------------------
def test_body_with_content_length_over_the_limit_is_413(small: TestClient) -> None:
    before = backlog(small)
    r = small.post("/registry/households", headers=JSON, content=padded(LIMIT + 1))
    problem = assert_clean_refusal(r, 413)
    assert str(LIMIT) in problem["detail"]
    assert backlog(small) == before


def test_streamed_body_without_content_length_over_the_limit_is_413(small: TestClient) -> None:
    body = padded(LIMIT * 4)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    before = backlog(small)
    r = small.post("/registry/households", headers=JSON, content=chunks())
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in r.request.headers
    assert_clean_refusal(r, 413)
    assert backlog(small) == before


def test_a_body_just_under_the_limit_is_served(small: TestClient) -> None:
    r = small.post("/registry/households", headers=JSON, content=padded(LIMIT - 200))
    # head_name is at most 120 characters: the body is read and judged, not refused for size
    assert_clean_refusal(r, 422)
    assert r.json()["errors"][0]["loc"] == ["body", "head_name"]


def test_the_default_limit_is_256_kib(api: TestClient) -> None:
    r = api.post("/registry/households", headers=JSON, content=padded(256 * 1024 + 1))
    assert_clean_refusal(r, 413)


# malformed JSON ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b"[" * 2_000 + b"]" * 2_000,
        b'{"village_code":"3204052001","members":3,"head_name":' + b"[" * 50_000 + b"}",
        b'{"a":' * 1_000 + b"1" + b"}" * 1_000,
    ],
    ids=["100k-open-brackets", "2k-closed-brackets", "deep-in-a-field", "1k-objects"],
)
def test_deeply_nested_json_is_a_4xx(api: TestClient, body: bytes) -> None:
    before = backlog(api)
    problem = assert_clean_refusal(api.post("/registry/households", headers=JSON, content=body))
    assert "bersarang" in problem["detail"]  # nests
    assert backlog(api) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"village_code":"3204052001","members":3', 422),
        (b"", 422),
        (b"null", 422),
        (b'"a string"', 422),
        (b"[1, 2, 3]", 422),
        (b'{"village_code":"3204052001","members":3}trailing', 422),
        (b'{"village_code":"3204052001","members":3,"head_name":"\xff\xfe"}', 400),
    ],
    ids=["truncated", "empty", "null", "string", "array", "trailing-garbage", "not-utf8"],
)
def test_malformed_json_is_a_4xx(api: TestClient, body: bytes, status: int) -> None:
    before = backlog(api)
    assert_clean_refusal(api.post("/registry/households", headers=JSON, content=body), status)
    assert backlog(api) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps(household_body()).encode()),
        ("application/x-www-form-urlencoded", b"village_code=3204052001&members=3"),
        ("multipart/form-data; boundary=xx", b"--xx\r\nContent-Disposition: form-data\r\n\r\n"),
        ("application/xml", b"<household members='3'/>"),
        (None, json.dumps(household_body()).encode()),
    ],
    ids=["text", "form", "multipart", "xml", "no-content-type"],
)
def test_non_json_content_types_are_refused(
    api: TestClient, content_type: str | None, body: bytes
) -> None:
    headers = dict(ADMIN)
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = backlog(api)
    assert_clean_refusal(api.post("/registry/households", headers=headers, content=body), 422)
    assert backlog(api) == before


# numbers ---------------------------------------------------------------------------------------
HH = '"village_code":"3204052001","members":'
SALE = '"household_id":"hh-1","village_code":"3204052001","crop":"padi","channel":"whatsapp"'
PLOT = '"household_id":"hh-1","village_code":"3204052001","land_status":"owned"'


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/registry/households", "{" + HH + "9" * 5000 + "}", "digit"),  # too many digits
        ("/registry/households", "{" + HH + "1e999}", "members"),
        ("/registry/households", "{" + HH + "NaN}", "members"),
        ("/registry/households", "{" + HH + "-Infinity}", "members"),
        ("/registry/households", "{" + HH + "1" + "0" * 40 + "}", "members"),
        ("/agriculture/sales", "{" + SALE + ',"kg":Infinity,"price_per_kg":8000}', "kg"),
        (
            "/agriculture/sales",
            "{" + SALE + ',"kg":5,"price_per_kg":1' + "0" * 30 + "}",
            "price_per_kg",
        ),
        ("/agriculture/sales", "{" + SALE + ',"kg":1e308,"price_per_kg":1e308}', "kg"),
        ("/agriculture/plots", "{" + PLOT + ',"area_ha":NaN}', "area_ha"),
        ("/agriculture/plots", "{" + PLOT + ',"area_ha":5e-324}', None),
    ],
    ids=[
        "5000-digits",
        "1e999",
        "NaN",
        "-Infinity",
        "1e40",
        "sale-kg-Infinity",
        "sale-price-1e30",
        "sale-1e308",
        "plot-NaN",
        "plot-denormal",
    ],
)
def test_huge_and_non_finite_numbers_are_a_4xx(
    api: TestClient, path: str, raw: str, field: str | None
) -> None:
    before = backlog(api)
    r = api.post(path, headers=JSON, content=raw.encode())
    if field is None:  # a tiny positive area is odd but valid
        assert r.status_code == 201, r.text
        return
    problem = assert_clean_refusal(r)
    assert field in problem["detail"]
    assert backlog(api) == before


# strings ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/registry/households", household_body(head_name="Ibu\x00Siti"), "head_name"),
        ("/registry/households", household_body(head_name="Ibu Siti\x1b[31m"), "head_name"),
        ("/registry/households", household_body(head_name="Ibu \u202eitiS"), "head_name"),
        (
            "/registry/villages",
            {
                "village_code": "3204052002",
                "name": "Desa\x00",
                "district_code": "3204",
                "district_name": "K",
            },
            "name",
        ),
        (
            "/training/programs",
            {
                "title": "T",
                "organizer": "O",
                "village_codes": [A],
                "start_on": "2025-01-01",
                "end_on": "2025-02-01",
                "topics": ["ok", "bad\x07"],
            },
            "topics.1",
        ),
        (
            "/agriculture/extension-visits",
            {
                "household_id": "hh-1",
                "village_code": A,
                "extension_worker_id": "ppl-1",
                "topic": "t",
                "recommendation": "line one\nline two\x00",
                "source_system": "s",
            },
            "recommendation",
        ),
    ],
    ids=["nul", "ansi-escape", "bidi-override", "village-name-nul", "list-item-bel", "long-text"],
)
def test_control_characters_in_strings_are_422_naming_the_field(
    api: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    before = backlog(api)
    problem = assert_clean_refusal(api.post(path, headers=ADMIN, json=body), 422)
    assert field in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", *field.split(".")]
    assert backlog(api) == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"village_code":"3204052001","members":3,"head_name":"\\ud800"}',
        b'{"village_code":"3204052001","members":3,"head_name":"\\udfff\\ud800"}',
    ],
    ids=["lone-high-surrogate", "reversed-pair"],
)
def test_unpaired_surrogates_are_422(api: TestClient, body: bytes) -> None:
    assert_clean_refusal(api.post("/registry/households", headers=JSON, content=body), 422)


@pytest.mark.parametrize(
    "name",
    [
        "Ibu Siti Nurhaliza 😀",
        "Ñoño Çelik Đặng Thị Hồng",
        "\u0645\u062d\u0645\u062f \u0639\u0644\u064a",  # Arabic script, right to left by itself
        "e\u0301\u0301 combining, zero\u200dwidth joiner, \ufeffbom",
        "tab\tand\nnewline",
    ],
    ids=["emoji", "latin-diacritics", "arabic", "combining-zwj", "tab-newline"],
)
def test_ordinary_unicode_is_kept_exactly(api: TestClient, name: str) -> None:
    r = api.post("/registry/households", headers=ADMIN, json=household_body(head_name=name))
    assert r.status_code == 201, r.text
    again = api.get(f"/registry/households/{r.json()['household_id']}", headers=ADMIN)
    assert again.json()["head_name"] == name


# path parameters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/registry/households/..%2F..%2Fetc%2Fpasswd",
        "/registry/households/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/registry/households/../../etc/passwd",
        "/registry/households/a%00b",
        "/registry/households/%C0%AF",
        "/registry/households/" + "h" * 8000,
        "/registry/villages/" + "3" * 5000,
        "/registry/villages/..%2F3204052001",
        "/commerce/businesses/..%5C..%5Cwindows/products/" + "p" * 3000,
        "/agriculture/plots/%252e%252e%252f",
        "/livestock/herds/%00/records",
        "/training/programs/" + "%ff" * 500 + "/enrolments",
        "/resilience/households/" + "h" * 8000,
        "/resilience/programs/..%2F..%2F/impact",
        "/resilience/villages/%00",
        "/resilience/districts/3204%00",
    ],
)
def test_traversal_and_overlong_ids_are_clean_4xx(api: TestClient, path: str) -> None:
    problem = assert_clean_refusal(api.get(path, headers=ADMIN))
    assert len(problem["detail"]) <= 500, "the refusal must not echo an unbounded id"


def test_traversal_in_a_write_path_records_nothing(api: TestClient) -> None:
    before = backlog(api)
    r = api.post(
        "/livestock/herds/..%2F..%2Fregistry%2Fvillages/births",
        headers=ADMIN,
        json={"count": 1, "occurred_on": "2026-01-01"},
    )
    assert_clean_refusal(r, 404)
    assert backlog(api) == before


@pytest.mark.parametrize(
    "query",
    ["as_of=0000-01", "as_of=0000-12&months=60", "as_of=0001-01&months=60"],
)
def test_resilience_months_before_1900_are_a_422_not_a_5xx(api: TestClient, query: str) -> None:
    household = api.post("/registry/households", headers=ADMIN, json=household_body()).json()
    runtime = api.app.state.runtime
    runtime.relay.drain()
    for worker in runtime.workers:
        worker.run_until_idle()
    paths = [
        f"/resilience/households/{household['household_id']}",
        f"/resilience/villages/{A}",
        f"/resilience/villages/{A}/trend",
        f"/resilience/villages/{A}/follow-ups",
        "/resilience/districts/3204",
    ]
    for path in paths:
        r = api.get(f"{path}?{query}", headers=ADMIN)
        assert r.status_code == 422, (path, r.text[:200])
        assert "as_of" in r.json()["detail"]


def test_query_parameters_with_nul_and_overlong_values_are_clean(api: TestClient) -> None:
    for query in (
        {"village_code": A + "\x00"},
        {"household_id": "h" * 5000},
        {"cursor": "\x00" * 10},
        {"cursor": "%%%%"},
        {"limit": "9" * 5000},
        {"limit": "-1"},
    ):
        assert_clean_refusal(api.get("/agriculture/plots", headers=ADMIN, params=query), 422)


# a real server: bytes on a socket ----------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LumbungProcess]:
    base = tmp_path_factory.mktemp("uvicorn")
    proc = LumbungProcess(
        "services",
        {
            "LUMBUNG_MODE": "embedded",
            "LUMBUNG_DATA_DIR": str(base / "data"),
            "LUMBUNG_MAX_BODY_BYTES": str(LIMIT),
        },
        base / "server.log",
    ).start()
    yield proc
    proc.stop()


def raw_request(port: int, head: bytes, body_parts: list[bytes]) -> tuple[int, bytes]:
    """Send a hand-written request; return the status and the body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), body


def _head(extra: str) -> bytes:
    return (
        "POST /registry/households HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {ADMIN['Authorization']}\r\nContent-Type: application/json\r\n"
        f"Connection: close\r\n{extra}\r\n"
    ).encode()


def test_real_server_refuses_a_chunked_body_over_the_limit(server: LumbungProcess) -> None:
    body = padded(LIMIT * 8)
    chunks = [
        b"%x\r\n%s\r\n" % (len(body[i : i + 1024]), body[i : i + 1024])
        for i in range(0, len(body), 1024)
    ]
    status, answer = raw_request(
        server.port, _head("Transfer-Encoding: chunked\r\n"), [*chunks, b"0\r\n\r\n"]
    )
    assert status == 413, answer[:300]
    assert json.loads(answer)["status"] == 413


def test_real_server_refuses_a_declared_length_over_the_limit(server: LumbungProcess) -> None:
    status, answer = raw_request(server.port, _head(f"Content-Length: {LIMIT * 100}\r\n"), [])
    assert status == 413, answer[:300]


def test_real_server_answers_deep_json_with_a_4xx(server: LumbungProcess) -> None:
    body = b"[" * 4000
    status, answer = raw_request(server.port, _head(f"Content-Length: {len(body)}\r\n"), [body])
    assert 400 <= status < 500, answer[:300]
    assert not STACK_TRACE.search(answer.decode("utf-8", errors="replace"))
