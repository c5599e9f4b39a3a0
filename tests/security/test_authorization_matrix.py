"""Who may do what, generated from the apps' route tables: every route x every role x in and
out of scope, plus no token and several bad ones.

A new route is covered without touching this file: reads get their path ids from what the
write cases created, writes get their body and setup from ``tests/e2e/cases`` — and a write
route without a case, or a read route whose ids cannot be found, fails the test instead of
being skipped.

Everything is created in village A (3204052001) of district 3204. A token "in scope" covers
what the route addresses (village A, or district 3204 for district routes); "out of scope"
covers village B (3204052002) — or district 3301 for the district admin. Expected:

- no token or a bad token: 401;
- out of scope: 403 (or, for a list without a village filter, 200 with nothing of village A);
- in scope, reads: 200;
- in scope, writes: success only where the role may write the sector (viewer never,
  extension_worker only agriculture and livestock, village registration district admins
  only), else 403 and nothing recorded.

No answer to a token outside village A, or to no token, may contain an id or a name created
in village A.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from shared.auth import Role, mint_token
from shared.http import route_table
from tests.e2e.routecases import WriteCase, all_cases
from tests.security.conftest import OPS_PATHS, quiet_client

A = "3204052001"
B = "3204052002"
DISTRICT = "3204"
FOREIGN_DISTRICT = "3301"
FOREIGN_VILLAGE = "3301010001"
A_NAME = "Desa Alfa Rahasia"
A_HEAD = "Ibu Sitiwati Rahasia"
A_KK = "3204050101097777"

ROLES = (Role.DISTRICT_ADMIN, Role.VILLAGE_OPERATOR, Role.EXTENSION_WORKER, Role.VIEWER)
# The policy under test, written down here rather than imported from shared.auth.
MAY_WRITE = {
    Role.DISTRICT_ADMIN: {"registry", "training", "commerce", "agriculture", "livestock"},
    Role.VILLAGE_OPERATOR: {"registry", "training", "commerce", "agriculture", "livestock"},
    Role.EXTENSION_WORKER: {"agriculture", "livestock"},
    Role.VIEWER: set(),
}
DISTRICT_ADMIN_ONLY = {("POST", "/registry/villages")}
# Lookups sent as POST (a NIK never goes into a URL): every role that writes may ask, in scope.
LOOKUPS = {("POST", "/registry/households/match")}
# Reads that answer the same to every token (no village data in them).
SCOPE_FREE = {("GET", "/resilience/rules")}
# Audit lists for the admin of the households' district only: every other role gets 403.
ADMIN_READS = {
    ("GET", f"/{svc}/refused-writes")
    for svc in ("training", "commerce", "agriculture", "livestock")
} | {("GET", "/resilience/districts/{district_code}/set-aside"), ("GET", "/registry/lookups")}
# Where a read route's path ids are looked for, after the route's own service.
ID_SOURCES = ("registry", "training", "commerce", "agriculture", "livestock")
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


# routes -----------------------------------------------------------------------------------
def _excluded(app: FastAPI) -> set[tuple[str, str]]:
    """Ops routes and the dashboard (HTML for people, with its own session auth)."""
    out = set()
    for ctx in iter_route_contexts(app.routes):
        module = getattr(ctx.endpoint, "__module__", "") or ""
        path = ctx.path or ""
        if (
            path in OPS_PATHS
            or path.startswith(("/dashboard", "/static"))
            or module.startswith("services.dashboard")
        ):
            out.update((m, path) for m in (ctx.methods or ()))
    return out


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    excluded = _excluded(app)
    return [r for r in route_table(app) if r not in excluded]


def params_of(path: str) -> list[str]:
    return PARAM.findall(path)


def query_params(app: FastAPI, method: str, path: str) -> set[str]:
    op = app.openapi()["paths"].get(path, {}).get(method.lower(), {})
    return {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}


# tokens -----------------------------------------------------------------------------------
def role_token(secret: str, role: Role, *, district: str | None = None, village: str | None = None):
    tok = mint_token(
        secret,
        role=role,
        sub=f"{role}-matrix",
        district=district,
        villages=[village] if village else None,
    )
    return {"Authorization": f"Bearer {tok}"}


def scoped(secret: str, role: Role, inside: bool, district_route: bool) -> dict[str, str]:
    """A token of ``role`` that covers (or not) what the route addresses."""
    if district_route or role is Role.DISTRICT_ADMIN:
        return role_token(secret, role, district=DISTRICT if inside else FOREIGN_DISTRICT)
    return role_token(secret, role, village=A if inside else B)


def unauthenticated(secret: str) -> dict[str, dict[str, str]]:
    """No token, and tokens that must never be accepted."""
    good = {"sub": "x", "role": "district_admin", "district": DISTRICT}
    exp = {"exp": 4_102_444_800}  # 2100-01-01
    admin = mint_token(secret, role=Role.DISTRICT_ADMIN, sub="x", district=DISTRICT)
    return {
        "no token": {},
        "wrong secret": role_token(
            "not-the-secret-" + "x" * 32, Role.DISTRICT_ADMIN, district=A[:4]
        ),
        "expired": {
            "Authorization": "Bearer "
            + mint_token(
                secret,
                role=Role.DISTRICT_ADMIN,
                sub="x",
                district=DISTRICT,
                ttl=timedelta(seconds=-60),
            )
        },
        "alg none": {
            "Authorization": "Bearer " + jwt.encode({**good, **exp}, None, algorithm="none")
        },
        "no exp": {"Authorization": "Bearer " + jwt.encode(good, secret, algorithm="HS256")},
        "no scope": {
            "Authorization": "Bearer "
            + jwt.encode({"sub": "x", "role": "viewer", **exp}, secret, algorithm="HS256")
        },
        "unknown role": {
            "Authorization": "Bearer "
            + jwt.encode({**good, "role": "superuser", **exp}, secret, algorithm="HS256")
        },
        "tampered": {
            "Authorization": "Bearer " + admin[:-3] + ("AAA" if admin[-3:] != "AAA" else "BBB")
        },
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "basic scheme": {"Authorization": f"Basic {admin}"},
    }


# the world in village A ---------------------------------------------------------------------
def to_village_a(value: Any) -> Any:
    """The case tables use villages A and B; the matrix keeps everything in village A."""
    if isinstance(value, str):
        return A if value == B else value
    if isinstance(value, dict):
        return {k: to_village_a(v) for k, v in value.items()}
    if isinstance(value, list):
        mapped = [to_village_a(v) for v in value]
        if mapped != value:  # [A, B] -> [A], not a duplicate
            mapped = list(dict.fromkeys(mapped))
        return mapped
    return value


class VillageAClient:
    """What a case's setup sees: the test client, bodies moved to village A, answers kept."""

    def __init__(self, client: TestClient, answers: list[tuple[str, dict[str, Any]]]) -> None:
        self._client = client
        self._answers = answers

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if "json" in kwargs:
            kwargs["json"] = to_village_a(kwargs["json"])
        r = self._client.request(method, url, **kwargs)
        if r.status_code < 300 and r.headers.get("content-type", "").startswith("application/json"):
            self._answers.append((url.split("/")[1], r.json()))
        return r

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)


@dataclass
class Cell:
    method: str
    path: str
    who: str
    expected: set[int]
    got: int
    body: str
    outsider: bool
    recorded: int = 0

    def label(self) -> str:
        return f"{self.method} {self.path} [{self.who}]"


@dataclass
class Matrix:
    routes: list[tuple[str, str]]
    cells: list[Cell] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    no_data_in_scope: list[str] = field(default_factory=list)


def _register_villages(client: TestClient, secret: str) -> None:
    admin = role_token(secret, Role.DISTRICT_ADMIN, district=DISTRICT)
    foreign = role_token(secret, Role.DISTRICT_ADMIN, district=FOREIGN_DISTRICT)
    for code, name, headers in (
        (A, A_NAME, admin),
        (B, "Desa Beta", admin),
        (FOREIGN_VILLAGE, "Desa Gamma", foreign),
    ):
        r = client.post(
            "/registry/villages",
            headers=headers,
            json={
                "village_code": code,
                "name": name,
                "district_code": code[:4],
                "district_name": f"Kabupaten {code[:4]}",
            },
        )
        assert r.status_code == 201, r.text


def _secrets_of(answers: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """Ids and names of what was created in village A: none may reach an outsider."""
    found = {A, A_NAME, A_HEAD, A_KK, A_KK[-4:] + '"'}
    keys = ("name", "title", "head_name", "participant_name", "mentor", "recommendation")
    for _service, answer in answers:
        for key, value in answer.items():
            if isinstance(value, str) and len(value) >= 4 and (key.endswith("_id") or key in keys):
                found.add(value)
    return found


def _backlog(client: TestClient) -> int:
    return client.app.state.runtime.store.outbox_backlog()


def _may_write(role: Role, method: str, path: str) -> bool:
    if (method, path) in DISTRICT_ADMIN_ONLY and role is not Role.DISTRICT_ADMIN:
        return False
    if (method, path) in LOOKUPS:
        return role is not Role.VIEWER
    return path.split("/")[1] in MAY_WRITE[role]


def _text(r: Any) -> str:
    return r.content.decode("utf-8", errors="replace")


def run_writes(
    client: TestClient,
    role: Role,
    cases: dict[tuple[str, str], WriteCase],
    matrix: Matrix,
    answers: list[tuple[str, dict[str, Any]]],
) -> None:
    """Every write case in one world: its setup (district admin), then the attempts.

    The world of the district admin also gets every attempt that must be refused (out of
    scope, unauthenticated) — before the admin's own write, which must then still succeed.
    """
    secret = client.app.state.runtime.settings.secret
    setup_admin = role_token(secret, Role.DISTRICT_ADMIN, district=DISTRICT)
    recorder = VillageAClient(client, answers)
    for method, path in matrix.routes:
        if method == "GET":
            continue
        case = cases.get((method, path))
        if case is None:
            if role is Role.DISTRICT_ADMIN:
                matrix.uncovered.append(f"{method} {path}")
            continue
        params = case.setup(recorder, setup_admin) if case.setup else {}
        url = case.path.format(**params)
        body = to_village_a(case.body)
        attempts: list[tuple[str, dict[str, str], set[int], bool]] = []
        if role is Role.DISTRICT_ADMIN:
            for other in ROLES:
                attempts.append(
                    (f"{other} out of scope", scoped(secret, other, False, False), {403}, True)
                )
            for name, headers in unauthenticated(secret).items():
                attempts.append((name, headers, {401}, True))
        ok = _may_write(role, method, path)
        attempts.append(
            (
                f"{role} in scope",
                scoped(secret, role, True, False),
                {case.status if ok else 403},
                False,
            )
        )
        for who, headers, expected, outsider in attempts:
            before = _backlog(client)
            r = client.request(method, url, json=body, headers=headers)
            recorded = _backlog(client) - before
            if r.status_code < 300:
                answers.append((path.split("/")[1], r.json()))
            matrix.cells.append(
                Cell(method, path, who, expected, r.status_code, _text(r), outsider, recorded)
            )


def _resolve(path: str, answers: list[tuple[str, dict[str, Any]]]) -> dict[str, str] | None:
    """Path ids for a read: village A, district 3204, or ids from what the writes answered."""
    names = params_of(path)
    fixed = {"village_code": A, "district_code": DISTRICT}
    wanted = [n for n in names if n not in fixed]
    own = path.split("/")[1]
    for service in (own, *ID_SOURCES):
        for source, answer in answers:
            if source != service or answer.get("village_code", A) != A:
                continue
            if all(isinstance(answer.get(n), str) for n in wanted):
                return {
                    **{n: fixed[n] for n in names if n in fixed},
                    **{n: answer[n] for n in wanted},
                }
    return None


def run_reads(
    client: TestClient, matrix: Matrix, answers: list[tuple[str, dict[str, Any]]]
) -> None:
    for method, path in matrix.routes:
        if method != "GET":
            continue
        values = _resolve(path, answers)
        if values is None:
            matrix.unresolved.append(path)
            continue
        _read_route(client, matrix, path, path.format(**values), _secrets_of(answers))


def _read_route(client: TestClient, matrix: Matrix, path: str, url: str, secrets: set[str]) -> None:
    """One read route: every role in and out of scope, then every unauthenticated caller."""
    secret = client.app.state.runtime.settings.secret
    district_route = "district_code" in params_of(path)
    addressed = bool(params_of(path))
    queries = query_params(client.app, "GET", path)

    def get(who: str, headers: dict[str, str], expected: int, outsider: bool, **query: str):
        r = client.get(url, headers=headers, params=query or None)
        matrix.cells.append(Cell("GET", path, who, {expected}, r.status_code, _text(r), outsider))
        return r

    for role in ROLES:
        admin_only = ("GET", path) in ADMIN_READS and role is not Role.DISTRICT_ADMIN
        ok = 403 if admin_only else 200
        inside = get(f"{role} in scope", scoped(secret, role, True, district_route), ok, False)
        outside = scoped(secret, role, False, district_route)
        if addressed or admin_only:
            get(f"{role} out of scope", outside, 403, True)
            continue
        if "village_code" in queries:
            get(f"{role} out of scope, village A asked", outside, 403, True, village_code=A)
        get(f"{role} out of scope, default list", outside, 200, True)
        if (
            role is Role.DISTRICT_ADMIN
            and ("GET", path) not in SCOPE_FREE
            and inside.status_code == 200
            and not any(s in _text(inside) for s in secrets)
        ):
            # A 200 outside proves nothing unless the same list shows village A inside.
            matrix.no_data_in_scope.append(f"GET {path}")
    for name, headers in unauthenticated(secret).items():
        get(name, headers, 401, True)


def _foreign_writes(client: TestClient, household: str) -> None:
    """Facts about village A's household written for village B: refused at each service's
    write (so the refused-writes lists hold something of village A), and one put straight on
    the bus (so the set-aside list does)."""
    from shared.commands import build_event
    from shared.events import catalogue as ev
    from shared.events.envelope import topic_for
    from shared.ports.bus import Message

    _settle(client)  # the services' copies of household -> village
    admin = role_token(
        client.app.state.runtime.settings.secret, Role.DISTRICT_ADMIN, district=DISTRICT
    )
    base = {"household_id": household, "village_code": B}
    for path, body in (
        ("/commerce/businesses", {**base, "name": "Warung", "category": "pangan"}),
        ("/agriculture/practices", {**base, "practice": "compost"}),
        ("/livestock/herds", {**base, "species": "goat", "count": 2}),
    ):
        r = client.post(path, json=body, headers=admin)
        assert r.status_code == 422, r.text
    program = client.post(
        "/training/programs",
        headers=admin,
        json={
            "title": "Pelatihan",
            "organizer": "Dinas",
            "village_codes": [B],
            "start_on": "2026-01-05",
            "end_on": "2026-01-06",
            "topics": ["social_media"],
        },
    )
    assert program.status_code == 201, program.text
    r = client.post(
        f"/training/programs/{program.json()['program_id']}/enrolments", json=base, headers=admin
    )
    assert r.status_code == 422, r.text
    sale = ev.ProduceSold(
        household_id=household,
        crop="padi",
        kg=10,
        price_per_kg=5000,
        amount=50_000,
        channel="market",
        occurred_on="2026-01-10",
    )
    wire = build_event(sale, village_code=B, subject=household, event_id="ev-matrix-foreign")
    client.app.state.runtime.bus.publish(
        [Message(topic_for("agriculture"), B, json.dumps(wire).encode())]
    )


def _settle(client: TestClient) -> None:
    """Publish the outbox and let the aggregator consume it all (no background threads)."""
    runtime = client.app.state.runtime
    runtime.relay.drain()
    for worker in runtime.workers:
        worker.run_until_idle()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    """One world per role (fresh store): every write case, then (admin world) every read."""
    base = tmp_path_factory.mktemp("matrix")
    cases = {(c.method, c.path): c for c in all_cases()}
    result: Matrix | None = None
    for role in ROLES:
        with quiet_client(base / str(role)) as client:
            secret = client.app.state.runtime.settings.secret
            result = result or Matrix(routes=api_routes(client.app))
            _register_villages(client, secret)
            answers: list[tuple[str, dict[str, Any]]] = []
            if role is Role.DISTRICT_ADMIN:
                # a household with a name and a KK number: PII that must never reach outsiders
                hh = client.post(
                    "/registry/households",
                    headers=role_token(secret, role, district=DISTRICT),
                    json={"village_code": A, "members": 5, "head_name": A_HEAD, "kk_number": A_KK},
                )
                assert hh.status_code == 201, hh.text
                answers.append(("registry", hh.json()))
            run_writes(client, role, cases, result, answers)
            if role is Role.DISTRICT_ADMIN:
                _foreign_writes(client, hh.json()["household_id"])
                _settle(client)
                result.secrets = _secrets_of(answers)
                run_reads(client, result, answers)
    assert result is not None
    return result


# the tests --------------------------------------------------------------------------------
def test_the_matrix_covers_every_route_of_every_service(matrix: Matrix, tmp_path: Path) -> None:
    """The embedded app the matrix runs on serves every route each service app serves."""
    from services.catalog import SERVICES
    from services.main import service_app
    from shared.settings import Settings

    each = set()
    for name in SERVICES:
        each.update(api_routes(service_app(name, Settings(data_dir=tmp_path / name))))
    assert each == set(matrix.routes)
    assert {path.split("/")[1] for _, path in matrix.routes} >= {*ID_SOURCES, "resilience"}


def test_every_write_route_has_a_case(matrix: Matrix) -> None:
    assert not matrix.uncovered, (
        "write routes without a case in tests/e2e/cases (add one so the matrix covers them): "
        + ", ".join(matrix.uncovered)
    )


def test_every_read_route_finds_its_ids(matrix: Matrix) -> None:
    assert not matrix.unresolved, (
        "read routes whose path ids no write answer provides: " + ", ".join(matrix.unresolved)
    )


def test_every_cell_answers_as_the_policy_says(matrix: Matrix) -> None:
    wrong = [
        f"{c.label()}: expected {sorted(c.expected)}, got {c.got}: {c.body[:200]}"
        for c in matrix.cells
        if c.got not in c.expected
    ]
    assert not wrong, f"{len(wrong)} of {len(matrix.cells)} cells wrong:\n" + "\n".join(wrong)


def test_refused_writes_record_nothing(matrix: Matrix) -> None:
    leaked = [c.label() for c in matrix.cells if c.got >= 400 and c.recorded]
    assert not leaked, leaked


def test_no_answer_outside_village_a_names_anything_of_it(matrix: Matrix) -> None:
    assert len(matrix.secrets) > 20
    leaks = [
        f"{c.label()}: {secret!r}"
        for c in matrix.cells
        if c.outsider
        for secret in matrix.secrets
        if secret in c.body
    ]
    assert not leaks, "\n".join(leaks)
    assert not matrix.no_data_in_scope, (
        "lists that show nothing of village A even in scope (so their out-of-scope 200 proves "
        "nothing): " + ", ".join(matrix.no_data_in_scope)
    )


def test_matrix_summary(matrix: Matrix, capsys: pytest.CaptureFixture[str]) -> None:
    routes = len(matrix.routes)
    writes = sum(1 for m, _ in matrix.routes if m != "GET")
    by_status = Counter(c.got for c in matrix.cells)
    outsider = sum(1 for c in matrix.cells if c.outsider)
    leaks = sum(1 for c in matrix.cells if c.outsider for s in matrix.secrets if s in c.body)
    callers = len(unauthenticated("s" * 32))
    with capsys.disabled():
        print(
            f"\nauthorization matrix: {routes} routes ({writes} writes, {routes - writes} reads) x "
            f"{len(ROLES)} roles x in/out of scope + {callers} unauthenticated "
            f"= {len(matrix.cells)} requests ({outsider} from outsiders, "
            f"{len(matrix.secrets)} village-A secrets checked, {leaks} leaks); statuses "
            + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items()))
        )
    assert matrix.cells
