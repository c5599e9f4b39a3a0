"""RFC 9457 problem+json: every error a client sees, and never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.ports.bus import BusUnavailable
from shared.ports.store import StoreUnavailable

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
RETRY_AFTER_S = 5
MAX_DETAIL = 500

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """A domain error that maps to one HTTP status and a human-readable detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
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


def field_problem(field: str, msg: str, status: int = 422) -> Problem:
    loc = ["body", *field.split(".")]
    return Problem(status, f"{field}: {msg}", errors=[{"loc": loc, "msg": msg}])


def problem_response(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if len(detail) > MAX_DETAIL:  # details may quote the request (an id): never unbounded
        detail = detail[: MAX_DETAIL - 1] + "…"
    body: dict[str, Any] = {
        "type": f"https://lumbung.id/problems/{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        errors.append({"loc": loc, "msg": str(err.get("msg", "invalid"))})
    return errors


def _unparsable(cause: BaseException) -> str:
    """Why FastAPI could not read a body (it answers 400 for anything but a JSONDecodeError)."""
    if isinstance(cause, RecursionError):
        return "the JSON body nests too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not UTF-8"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "a number in the JSON body has too many digits"
    return "the body could not be read as JSON"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        broken = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if broken:
            where = broken[0].get("loc", ("body", "?"))[-1]
            why = (broken[0].get("ctx") or {}).get("error", "invalid")
            msg = f"{why} at position {where}"
            return problem_response(
                422, f"the body is not valid JSON: {msg}", errors=[{"loc": ["body"], "msg": msg}]
            )
        errors = _validation_errors(exc)
        named = ", ".join(dict.fromkeys(".".join(e["loc"][1:]) or e["loc"][0] for e in errors))
        return problem_response(422, f"invalid field(s): {named}", errors=errors)

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 400 and exc.__cause__ is not None:
            detail = _unparsable(exc.__cause__)
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(BusUnavailable)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency unavailable: %s", exc)
        which = "store" if isinstance(exc, StoreUnavailable) else "bus"
        return problem_response(
            503,
            f"the {which} is unreachable; nothing was recorded, retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(500, "internal error; it has been logged")
