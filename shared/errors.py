"""RFC 9457 problem+json: every error a client sees, and never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.integrations.messages import api_reason
from shared.language import DEFAULT_LANG, Text, in_both, negotiate, say
from shared.ports.bus import BusUnavailable
from shared.ports.store import StoreUnavailable

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
RETRY_AFTER_S = 5
MAX_DETAIL = 500

TITLES: dict[int, Text] = {
    400: say("Permintaan tidak dapat dibaca", "Bad request"),
    401: say("Perlu autentikasi", "Authentication required"),
    403: say("Tidak diizinkan", "Forbidden"),
    404: say("Tidak ditemukan", "Not found"),
    405: say("Metode tidak diizinkan", "Method not allowed"),
    409: say("Konflik data", "Conflict"),
    413: say("Isi permintaan terlalu besar", "Request body too large"),
    415: say("Jenis media tidak didukung", "Unsupported media type"),
    422: say("Isian tidak sah", "Invalid input"),
    429: say("Terlalu banyak permintaan", "Too many requests"),
    500: say("Kesalahan internal", "Internal error"),
    503: say("Layanan tidak tersedia", "Service unavailable"),
}
_ERROR = say("Galat", "Error")

# What Starlette says when no route answers (its default details), in both languages.
_ROUTING = {
    (404, "Not Found"): say(
        "tidak ada sumber daya di alamat ini", "nothing is served at this path"
    ),
    (405, "Method Not Allowed"): say(
        "metode ini tidak didukung di alamat ini", "this method is not allowed here"
    ),
}


class Problem(Exception):
    """A domain error that maps to one HTTP status and a human-readable detail, written in
    both languages (``say(...)``); the answer picks one by the request's Accept-Language.
    ``errors``: ``{"loc": [...], "msg": Text}`` items naming the fields."""

    def __init__(
        self,
        status: int,
        detail: Text,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = in_both(detail)
        super().__init__(self.detail.en)
        self.status = status
        self.errors = errors
        self.headers = headers or {}


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response (for ``responses=``) whose body is problem+json."""
    return {"description": description, "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}}


# What any authenticated route may answer besides success: a router's ``responses=``.
ROUTE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: problem_doc("no or bad token"),
    403: problem_doc("the token does not cover the village or district"),
    404: problem_doc("an id in the path is not known"),
    422: problem_doc("invalid parameter or field; the problem+json names it"),
    503: problem_doc("the store is unreachable; nothing was recorded, retry later"),
}


def field_problem(field: str, msg: Text, status: int = 422) -> Problem:
    msg = in_both(msg)
    loc = ["body", *field.split(".")]
    detail = say(f"{field}: {msg.id}", f"{field}: {msg.en}")
    return Problem(status, detail, errors=[{"loc": loc, "msg": msg}])


def village_not_registered(village_code: str) -> Text:
    return say(f"desa {village_code} belum terdaftar", f"village {village_code} is not registered")


def problem_response(
    status: int,
    detail: Text | str,
    *,
    lang: str = DEFAULT_LANG,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    text = in_both(detail).pick(lang)
    if len(text) > MAX_DETAIL:  # details may quote the request (an id): never unbounded
        text = text[: MAX_DETAIL - 1] + "…"
    body: dict[str, Any] = {
        "type": f"https://lumbung.id/problems/{status}",
        "title": TITLES.get(status, _ERROR).pick(lang),
        "status": status,
        "detail": text,
    }
    if errors is not None:
        body["errors"] = [{**e, "msg": in_both(e.get("msg", "")).pick(lang)} for e in errors]
    answer_headers = {**(headers or {}), "Content-Language": lang}
    vary = answer_headers.get("Vary")
    answer_headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
    return JSONResponse(body, status_code=status, headers=answer_headers, media_type=PROBLEM)


def lang_of(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": api_reason(err)}
        for err in exc.errors()
    ]


def _unparsable(cause: BaseException) -> Text:
    """Why FastAPI could not read a body (it answers 400 for anything but a JSONDecodeError)."""
    if isinstance(cause, RecursionError):
        return say("isi JSON bersarang terlalu dalam", "the JSON body nests too deeply")
    if isinstance(cause, UnicodeDecodeError):
        return say("isi permintaan bukan UTF-8", "the body is not UTF-8")
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return say(
            "sebuah angka di isi JSON memiliki terlalu banyak digit",
            "a number in the JSON body has too many digits",
        )
    return say(
        "isi permintaan tidak dapat dibaca sebagai JSON", "the body could not be read as JSON"
    )


def invalid_fields(errors: list[dict[str, Any]]) -> Problem:
    """422 naming every field of ``errors`` (``loc`` after its first part: body, query, ...)."""
    named = ", ".join(dict.fromkeys(".".join(e["loc"][1:]) or e["loc"][0] for e in errors))
    return Problem(
        422, say(f"isian tidak sah: {named}", f"invalid field(s): {named}"), errors=errors
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = lang_of(request)
        broken = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if broken:
            where = broken[0].get("loc", ("body", "?"))[-1]
            why = (broken[0].get("ctx") or {}).get("error", "invalid")
            # the parser's reason is English only; the Indonesian names the position
            msg = say(f"JSON tidak sah pada posisi {where}", f"{why} at position {where}")
            detail = say(
                f"isi permintaan bukan JSON yang sah (posisi {where})",
                f"the body is not valid JSON: {msg.en}",
            )
            return problem_response(422, detail, lang=lang, errors=[{"loc": ["body"], "msg": msg}])
        problem = invalid_fields(_validation_errors(exc))
        return problem_response(422, problem.detail, lang=lang, errors=problem.errors)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, lang=lang_of(request), errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = _ROUTING.get((exc.status_code, str(exc.detail))) or in_both(str(exc.detail))
        if exc.status_code == 400 and exc.__cause__ is not None:
            detail = _unparsable(exc.__cause__)
        return problem_response(
            exc.status_code, detail, lang=lang_of(request), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(BusUnavailable)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency unavailable: %s", exc)
        if isinstance(exc, StoreUnavailable):
            which = say("basis data", "store")
        else:
            which = say("bus peristiwa", "bus")
        detail = say(
            f"{which.id} tidak dapat dihubungi; tidak ada yang dicatat, coba lagi nanti",
            f"the {which.en} is unreachable; nothing was recorded, retry later",
        )
        return problem_response(
            503, detail, lang=lang_of(request), headers={"Retry-After": str(RETRY_AFTER_S)}
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        detail = say(
            "kesalahan internal; sudah dicatat di log", "internal error; it has been logged"
        )
        return problem_response(500, detail, lang=lang_of(request))
