"""The API's language: Accept-Language negotiation, and every refusal written in both."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, model_validator

from shared.auth import PrincipalDep
from shared.errors import Problem, field_problem, install_error_handlers
from shared.language import Invalid, negotiate, say
from shared.observability import MetricsMiddleware
from shared.ports.store import StoreUnavailable
from shared.ratelimit import WriteLimiter
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "id"),
        ("", "id"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("EN-gb", "en"),
        ("id-ID,id;q=0.9,en;q=0.8", "id"),
        ("en;q=0.3, id;q=0.7", "id"),
        ("fr, en;q=0.5", "en"),
        ("fr, de", "id"),
        ("*", "id"),
        ("en;q=0", "id"),
        (";;;,q=x,", "id"),
    ],
)
def test_the_answer_language_follows_accept_language(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


class Span(BaseModel):
    start: int
    end: int

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise Invalid(say("tidak boleh sebelum start", "must not be before start"))
        return self


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, service="t", max_body_bytes=1024)
    app.state.runtime = SimpleNamespace(settings=Settings())
    limiter = WriteLimiter("1/minute")

    @app.post("/span")
    def span(body: Span) -> int:
        return body.end - body.start

    @app.get("/private")
    def private(principal: PrincipalDep) -> str:
        return principal.sub

    @app.get("/down")
    def down() -> None:
        raise StoreUnavailable("sqlite: disk I/O error")

    @app.post("/limited")
    async def limited() -> None:
        await limiter.check("someone")

    @app.get("/refuse")
    def refuse() -> None:
        raise field_problem("area_ha", say("terlalu luas", "too large"))

    @app.get("/conflict")
    def conflict() -> None:
        raise Problem(409, say("sudah dipakai", "already used"))

    @app.get("/count")
    def count(n: int) -> int:
        return n

    return app


def test_a_refusal_is_in_bahasa_indonesia_unless_english_is_asked_for() -> None:
    client = TestClient(_app())
    default = client.get("/refuse")
    english = client.get("/refuse", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert default.status_code == english.status_code == 422
    assert default.headers["content-language"] == "id"
    assert english.headers["content-language"] == "en"
    assert "Accept-Language" in default.headers["vary"]
    assert default.json()["detail"] == "area_ha: terlalu luas"
    assert default.json()["title"] == "Isian tidak sah"
    assert default.json()["errors"] == [{"loc": ["body", "area_ha"], "msg": "terlalu luas"}]
    assert english.json()["detail"] == "area_ha: too large"
    assert english.json()["title"] == "Invalid input"
    assert english.json()["errors"] == [{"loc": ["body", "area_ha"], "msg": "too large"}]
    assert default.json()["type"] == english.json()["type"]
    conflict = client.get("/conflict").json()
    assert (conflict["title"], conflict["detail"]) == ("Konflik data", "sudah dipakai")


def test_framework_refusals_are_translated_too() -> None:
    client = TestClient(_app())
    invalid = client.get("/count", params={"n": "x"})
    assert invalid.status_code == 422
    assert invalid.json()["detail"] == "isian tidak sah: n"
    assert invalid.json()["errors"] == [{"loc": ["query", "n"], "msg": "harus bilangan bulat"}]
    english = client.get("/count", params={"n": "x"}, headers={"Accept-Language": "en"}).json()
    assert english["detail"] == "invalid field(s): n"
    assert english["errors"][0]["msg"].startswith("Input should be a valid integer")
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["title"] == "Tidak ditemukan"
    wrong = client.post("/count")
    assert wrong.status_code == 405
    assert wrong.json()["detail"] == "metode ini tidak didukung di alamat ini"


# where a refusal's text goes: (positional index, keyword) per callable
_TEXT_ARGUMENT = {
    "Problem": (1, "detail"),
    "field_problem": (1, "msg"),
    "problem_response": (1, "detail"),
    "_unauthorized": (0, "detail"),
    "Invalid": (0, "text"),
}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "indonesian", "english"),
    [
        ("POST", "/span", {"content": b"{}" + b" " * 2000}, 413, "lebih besar", "larger"),
        ("GET", "/private", {}, 401, "token bearer diperlukan", "a bearer token is required"),
        ("GET", "/down", {}, 503, "basis data tidak dapat", "store is unreachable"),
        ("POST", "/limited", {}, 429, "terlalu banyak penulisan", "too many writes"),
    ],
)
def test_the_platform_s_own_answers_follow_the_language(
    method: str, path: str, kwargs: dict, status: int, indonesian: str, english: str
) -> None:
    client = TestClient(_app())
    if status == 429:
        client.post(path)  # the one write the limit allows
    default = client.request(method, path, **kwargs)
    assert default.status_code == status and indonesian in default.json()["detail"]
    assert default.headers["content-language"] == "id"
    if status == 429:
        client = TestClient(_app())
        client.post(path)
    answer = client.request(method, path, headers={"Accept-Language": "en"}, **kwargs)
    assert answer.status_code == status and english in answer.json()["detail"]
    assert answer.headers["content-language"] == "en"


def test_a_validator_s_refusal_is_given_in_both_languages() -> None:
    client = TestClient(_app())
    bad = {"start": 5, "end": 1}
    default = client.post("/span", json=bad).json()
    assert default["errors"] == [{"loc": ["body"], "msg": "tidak boleh sebelum start"}]
    english = client.post("/span", json=bad, headers={"Accept-Language": "en"}).json()
    assert english["errors"] == [{"loc": ["body"], "msg": "Value error, must not be before start"}]


def _plain_text_refusals(source: str, where: str) -> list[str]:
    """Refusals whose text is a string literal (written in one language only), and
    ``say(...)`` calls whose two languages are the same literal."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name == "say" and len(node.args) == 2:
            one, two = (ast.dump(arg) for arg in node.args)
            if one == two and ast.unparse(node.args[0]) not in _SAME_IN_BOTH:
                found.append(f"{where}:{node.lineno}")
            continue
        if name not in _TEXT_ARGUMENT:
            continue
        index, keyword = _TEXT_ARGUMENT[name]
        texts = [kw.value for kw in node.keywords if kw.arg == keyword]
        if len(node.args) > index:
            texts.append(node.args[index])
        if any(isinstance(text, ast.Constant | ast.JoinedStr) for text in texts):
            found.append(f"{where}:{node.lineno}")
    return found


# words that read the same in both languages
_SAME_IN_BOTH = {"'NIK'"}


def test_every_refusal_is_written_in_both_languages() -> None:
    files = sorted([*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")])
    assert len(files) > 50
    found = [
        where
        for path in files
        for where in _plain_text_refusals(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == [], "use say('<kalimat>', '<sentence>'): " + ", ".join(found)


def test_the_guard_sees_a_plain_text_refusal() -> None:
    source = "\n".join(
        [
            'raise Problem(404, f"x {1} not found")',
            'raise field_problem("a", "bad")',
            'raise _unauthorized("no token")',
            'return problem_response(413, detail="too large")',
            'raise Invalid(say("sama", "sama"))',
            'raise Problem(404, say("x", "y"))',
            'raise Invalid(say("x", "y"))',
        ]
    )
    assert _plain_text_refusals(source, "s.py") == [f"s.py:{n}" for n in range(1, 6)]
