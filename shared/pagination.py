"""Cursor pagination shared by every list route: ``?limit=`` (<= 500) and ``?cursor=``."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from shared.adapters.docs import decode_cursor
from shared.errors import Problem
from shared.language import say
from shared.ports.store import Page

MAX_LIMIT = 500
T = TypeVar("T")


class PageParams(BaseModel):
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=500, description="next_cursor of the last page")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def checked_cursor(params: PageParams) -> str | None:
    if params.cursor is None:
        return None
    try:
        decode_cursor(params.cursor)
    except ValueError:
        msg = say("kursor tidak sah", "invalid cursor")
        raise Problem(
            422,
            say("cursor: tidak sah", "cursor: invalid"),
            errors=[{"loc": ["query", "cursor"], "msg": msg}],
        ) from None
    return params.cursor


def page_of(page: Page) -> dict[str, object]:
    return {"items": page.items, "next_cursor": page.next_cursor}
