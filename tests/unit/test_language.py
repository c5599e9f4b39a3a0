"""The API's language: Accept-Language negotiation, and every refusal written in both."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.errors import Problem, field_problem, install_error_handlers
from shared.language import negotiate, say

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


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

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
    assert (conflict["title"], conflict["detail"]) == ("Bertentangan", "sudah dipakai")


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


def _plain_text_refusals(source: str, where: str) -> list[str]:
    """``Problem(status, "...")`` or ``field_problem(field, "...")`` calls whose message is a
    string literal: written in one language only."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if not isinstance(node, ast.Call) or len(node.args) < 2:
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name in {"Problem", "field_problem", "_unauthorized"} and isinstance(
            node.args[1], ast.Constant | ast.JoinedStr
        ):
            found.append(f"{where}:{node.lineno}")
    return found


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
    source = 'raise Problem(404, f"x {1} not found")\nraise field_problem("a", "bad")\n'
    assert _plain_text_refusals(source, "s.py") == ["s.py:1", "s.py:2"]
    assert _plain_text_refusals('raise Problem(404, say("x", "y"))\n', "s.py") == []
