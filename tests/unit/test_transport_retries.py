"""The import and demo clients wait out a per-token limit instead of failing the row."""

from __future__ import annotations

import asyncio

import pytest

from shared.demo import transport
from shared.demo.transport import Reply, with_retries


def _replies(*replies: Reply):
    sent: list[Reply] = []

    async def send() -> Reply:
        reply = replies[len(sent)]
        sent.append(reply)
        return reply

    return send, sent


def _sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(transport.asyncio, "sleep", sleep)
    return slept


def test_a_limit_is_waited_out_in_full_however_long_it_says(monkeypatch) -> None:
    slept = _sleeps(monkeypatch)
    limited = Reply(429, {}, retry_after=22.0)
    send, sent = _replies(*[limited] * 7, Reply(200, {"household_id": "hh-1"}))
    reply = asyncio.run(with_retries(send))
    assert reply.status == 200 and len(sent) == 8
    assert slept == [22.0] * 7  # more than RETRIES tries, no 5 s cap


def test_the_wait_has_a_budget(monkeypatch) -> None:
    slept = _sleeps(monkeypatch)
    monkeypatch.setattr(transport, "LIMIT_WAIT_S", 50.0)
    send, sent = _replies(*[Reply(429, {}, retry_after=20.0)] * 20)
    reply = asyncio.run(with_retries(send))
    assert reply.status == 429
    assert slept[:2] == [20.0, 20.0] and all(s <= 5.0 for s in slept[2:])
    assert len(sent) == 2 + transport.RETRIES


def test_an_outage_is_still_retried_a_few_times_with_short_waits(monkeypatch) -> None:
    slept = _sleeps(monkeypatch)
    send, sent = _replies(*[Reply(503, {})] * 10)
    assert asyncio.run(with_retries(send)).status == 503
    assert len(sent) == transport.RETRIES and all(s <= 5.0 for s in slept)
