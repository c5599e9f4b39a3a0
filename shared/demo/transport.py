"""Two ways to reach the public API: in-process (an ASGI call, no socket) or over HTTP.

Both go through the real routes, middleware and error handlers, so every invariant of a
write holds (validation, scope, Idempotency-Key, outbox). Used by ``lumbung demo`` and
``lumbung import``.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from shared.integrations.messages import sentence
from shared.language import configured_lang

RETRIES = 5
LIMIT_WAIT_S = 900.0  # one request waits out a per-token limit for at most this long


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    replayed: bool = False
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Client(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        token: str | None = None,
    ) -> Reply: ...


def _headers(token: str, key: str | None, has_body: bool, lang: str) -> dict[str, str]:
    headers = {
        "authorization": f"Bearer {token}",
        "accept": "application/json",
        "accept-language": lang,  # refusals the command reports, in its own language
    }
    if has_body:
        headers["content-type"] = "application/json"
    if key is not None:
        headers["idempotency-key"] = key
    return headers


def _reply(status: int, raw: bytes, headers: dict[str, str]) -> Reply:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    retry = headers.get("retry-after")
    return Reply(
        status,
        body,
        replayed=headers.get("idempotent-replayed") == "true",
        retry_after=float(retry) if retry and retry.replace(".", "", 1).isdigit() else None,
    )


async def with_retries(send: Any) -> Reply:
    """Retry 503 (store or bus down, at most 5 s a wait) and 429. A 429 with Retry-After
    (a limit per token, e.g. NIK/KK lookups: LUMBUNG_LOOKUP_RATE) is waited out in full,
    for at most ``LIMIT_WAIT_S`` in all, so an import slows down to the limit instead of
    failing its rows."""
    waited = 0.0
    attempt = 0
    while True:
        reply: Reply = await send()
        if reply.status not in (429, 503):
            return reply
        limited = reply.status == 429 and reply.retry_after is not None
        if limited and waited + (reply.retry_after or 0) <= LIMIT_WAIT_S:
            pause = reply.retry_after or 0.0
        elif attempt < RETRIES - 1:
            pause = min(5.0, reply.retry_after or 0.5 * 2**attempt)
            attempt += 1
        else:
            return reply
        waited += pause
        await asyncio.sleep(pause)


class AsgiClient:
    """Calls an ASGI app directly, in this process and event loop."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token
        self.lang = configured_lang()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        token: str | None = None,
    ) -> Reply:
        return await with_retries(lambda: self._once(method, path, body, key, token))

    async def _once(
        self, method: str, path: str, body: Any, key: str | None, token: str | None
    ) -> Reply:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = _headers(token or self.token, key, body is not None, self.lang)
        headers["content-length"] = str(len(raw))
        target, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": target,
            "raw_path": target.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 0),
            "server": ("lumbung.local", 80),
            "state": {},
        }
        sent = False
        status, chunks, answer = 500, [], {}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await asyncio.Event().wait()  # never disconnects while the app still answers
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                answer.update(
                    (k.decode().lower(), v.decode()) for k, v in message.get("headers", [])
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return _reply(status, b"".join(chunks), answer)


class Address(NamedTuple):
    scheme: str
    host: str
    port: int | None
    prefix: str


def http_address(base_url: str) -> Address:
    """A running platform's address (``http://`` when it names no scheme); a ValueError in
    Bahasa Indonesia and English when it is not an http(s) URL."""
    try:
        parts = urlsplit(base_url if "://" in base_url else f"http://{base_url}")
        port = parts.port  # raises too: a port that is no number in 0-65535
    except ValueError:  # or an unclosed [IPv6 address
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            sentence(f"bukan alamat http(s): {base_url}", f"not an http(s) URL: {base_url}")
        )
    return Address(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))


class HttpClient:
    """HTTP/1.1 with keep-alive to a running platform; one connection per concurrent call."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30.0) -> None:
        self.scheme, self.host, self.port, self.prefix = http_address(base_url)
        self.token = token
        self.timeout_s = timeout_s
        self.lang = configured_lang()
        self._idle: queue.SimpleQueue[http.client.HTTPConnection] = queue.SimpleQueue()

    def _connection(self) -> http.client.HTTPConnection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            kind = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            return kind(self.host, self.port, timeout=self.timeout_s)

    def _send(self, method: str, path: str, body: Any, key: str | None, token: str | None) -> Reply:
        raw = None if body is None else json.dumps(body).encode()
        headers = _headers(token or self.token, key, body is not None, self.lang)
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self.prefix + path, body=raw, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                if attempt == 2:
                    raise
                continue
            self._idle.put(conn)
            answer = {k.lower(): v for k, v in response.getheaders()}
            return _reply(response.status, data, answer)
        raise AssertionError("unreachable")

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        token: str | None = None,
    ) -> Reply:
        return await with_retries(
            lambda: asyncio.to_thread(self._send, method, path, body, key, token)
        )

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
