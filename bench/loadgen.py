"""The HTTP load client, run as its own process (`python -m bench.loadgen SPEC.json`) so the
server under test and the client do not share an interpreter.

Raw HTTP/1.1 keep-alive connections on asyncio (a lean client, so the client is not the
bottleneck). Commands come in groups (one household's writes, in order); ``concurrency``
connections each take the next group. Bounded: at most ``max_requests`` requests and
``max_seconds`` seconds. With ``rate`` set, requests are paced to that many per second
(open loop, for the freshness figure), and an optional probe measures, for its own writes,
the time from the 2xx answer to the fact being visible in the village view.
Prints one JSON line: counts, rate, latency percentiles, probe delays.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

from bench.common import percentile


class Connection:
    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: str | None, key: str | None
    ) -> tuple[int, bytes]:
        """One request; if the server had closed the idle keep-alive connection (uvicorn
        does after 5 s), once more on a new connection (writes carry Idempotency-Keys)."""
        reused = self.writer is not None
        try:
            return await self._request(method, path, body, key)
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
            return await self._request(method, path, body, key)

    async def _request(
        self, method: str, path: str, body: str | None, key: str | None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = body.encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Authorization: Bearer {self.token}", "Accept: application/json"]  # fmt: skip
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        if key is not None:
            head.append(f"Idempotency-Key: {key}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    groups: list[list[list[Any]]] = spec["groups"]
    max_requests = spec.get("max_requests", 10**9)
    deadline = time.perf_counter() + spec.get("max_seconds", 30)
    rate = spec.get("rate")
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    sent = 0
    next_group = 0
    started = time.perf_counter()
    slot_time = started

    async def pace() -> None:
        nonlocal slot_time
        if rate:
            slot_time += 1 / rate
            delay = slot_time - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

    def more() -> bool:
        return sent < max_requests and time.perf_counter() < deadline

    async def worker() -> None:
        nonlocal sent, next_group
        conn = Connection(host, port, spec["token"])
        try:
            while more() and next_group < len(groups):
                group = groups[next_group]
                next_group += 1
                for method, path, body, key in group:
                    if not more():
                        return
                    sent += 1
                    await pace()
                    t = time.perf_counter()
                    try:
                        status, _ = await conn.request(method, path, body, key)
                    except (OSError, ConnectionError, asyncio.IncompleteReadError):
                        conn.close()
                        status = 599
                    latencies.append(time.perf_counter() - t)
                    statuses[status] += 1
        finally:
            conn.close()

    probe_delays: list[float] = []
    probe_errors = 0

    async def probe() -> None:
        """Write a sale in the probe village, then poll its village view until it shows."""
        nonlocal probe_errors, sent
        p = spec["probe"]
        writer = Connection(host, port, spec["token"])
        reader = Connection(host, port, spec["token"])
        expected = p["umkm_before"]
        n = 0
        try:
            while time.perf_counter() < deadline and sent < max_requests:
                business = p["businesses"][n % len(p["businesses"])]
                amount = 1000 + n
                n += 1
                body = json.dumps({"occurred_on": p["today"], "quantity": 1, "unit_price": amount,
                                   "channel": "market"})  # fmt: skip
                sent += 1
                await pace()
                try:
                    status, _ = await writer.request(
                        "POST", f"/commerce/businesses/{business}/sales", body,
                        f"probe-{p['run']}-{n}",
                    )  # fmt: skip
                except (OSError, ConnectionError, asyncio.IncompleteReadError):
                    status = 599
                answered = time.perf_counter()
                if status // 100 != 2:
                    probe_errors += 1
                    continue
                expected += amount
                seen = False
                while time.perf_counter() - answered < p["timeout_s"]:
                    try:
                        st, data = await reader.request("GET", p["view"], None, None)
                    except (OSError, ConnectionError, asyncio.IncompleteReadError):
                        st, data = 599, b""
                    if st == 200 and json.loads(data)["income"]["umkm"] >= expected:
                        seen = True
                        break
                    await asyncio.sleep(p["poll_s"])
                if seen:
                    probe_delays.append(time.perf_counter() - answered)
                else:
                    probe_errors += 1
                await asyncio.sleep(p.get("gap_s", 0.05))
        finally:
            writer.close()
            reader.close()

    tasks = [asyncio.create_task(worker()) for _ in range(spec.get("concurrency", 8))]
    if spec.get("probe"):
        tasks.append(asyncio.create_task(probe()))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return {
        "requests": sum(statuses.values()),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": seconds,
        "rate": ok / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "probe_n": len(probe_delays),
        "probe_errors": probe_errors,
        "probe_p50_ms": percentile(probe_delays, 50) * 1000,
        "probe_p99_ms": percentile(probe_delays, 99) * 1000,
        **({"latencies_ms": [x * 1000 for x in latencies]} if spec.get("keep_latencies") else {}),
        "probe_max_ms": max(probe_delays, default=float("nan")) * 1000,
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()
