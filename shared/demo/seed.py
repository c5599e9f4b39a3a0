"""Send the demo stream through the public API, and (embedded) bring the views up to date.

Households are independent: their command groups run concurrently (each in order), after
the villages and the programme. In embedded mode the platform's relay and aggregator do not
run while seeding (they would recompute the village views after every few writes); the
outbox is drained and the aggregator's own consumer group catches up once at the end, with
the views built once -- so ``lumbung run`` afterwards starts with nothing left to do.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared.auth import Role, mint_token
from shared.demo.model import DEMO_SUB, DISTRICT_CODE, Command, DemoConfig
from shared.demo.scenario import generate
from shared.demo.transport import AsgiClient, Client, Reply
from shared.settings import Settings

# (stage, done, total): stages are "households", "publish", "aggregate".
Progress = Callable[[str, int, int | None], None]
KEPT_FAILURES = 20


def _quiet(_stage: str, _done: int, _total: int | None) -> None:
    return None


@dataclass
class SendResult:
    commands: int = 0
    written: int = 0
    replayed: int = 0
    failed: int = 0
    households: int = 0
    by_service: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[Command, Reply]] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, command: Command, reply: Reply) -> None:
        self.commands += 1
        if reply.ok:
            self.by_service[command.service] += 1
            if reply.replayed:
                self.replayed += 1
            else:
                self.written += 1
            return
        self.failed += 1
        if len(self.failures) < KEPT_FAILURES:
            self.failures.append((command, reply))

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0


async def send_commands(
    client: Client,
    commands: Iterable[Command],
    *,
    concurrency: int = 4,
    progress: Progress = _quiet,
    households: int | None = None,
) -> SendResult:
    """Send every command; groups (households) in parallel, each group in order.

    An unreachable platform (OSError) stops the run and is raised: nothing half-sent is lost,
    since a second run with the same keys only adds what is missing.
    """
    result = SendResult()
    started = time.perf_counter()
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()
    broken: list[OSError] = []

    async def run(group: list[Command]) -> None:
        try:
            for command in group:
                reply = await client.request(
                    command.method, command.path, command.body, key=command.key
                )
                result.record(command, reply)
            if group[0].group is not None:
                result.households += 1
                progress("households", result.households, households)
        except OSError as exc:
            broken.append(exc)
        finally:
            slots.release()

    for key, items in itertools.groupby(commands, key=lambda c: c.group):
        group = list(items)
        await slots.acquire()
        if broken:
            break
        if key is None:  # villages and the programme: everything after depends on them
            await asyncio.gather(*running)
            await run(group)
            continue
        task = asyncio.create_task(run(group))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    if broken:
        raise broken[0]
    result.seconds = time.perf_counter() - started
    return result


def demo_token(settings: Settings, hours: int = 12) -> str:
    """A district-admin token for the demo district. A fixed subject keeps re-seeding
    idempotent: Idempotency-Keys are scoped to the token's role and subject."""
    return mint_token(
        settings.secret,
        role=Role.DISTRICT_ADMIN,
        sub=DEMO_SUB,
        district=DISTRICT_CODE,
        ttl=timedelta(hours=hours),
    )


@dataclass
class SeedReport:
    send: SendResult
    settled: Settled | None = None  # None when a running platform does it (--url)

    @property
    def seconds(self) -> float:
        extra = self.settled
        return self.send.seconds + (
            extra.publish_seconds + extra.aggregate_seconds if extra else 0.0
        )


@contextmanager
def embedded_platform(settings: Settings) -> Iterator[Any]:
    """The embedded app in this process, its relay and aggregator not running in the
    background (``settle`` does their work once); closed on exit."""
    from services.main import embedded_app

    # The operator's own process writing its own data: the per-token limit that protects
    # a served platform from floods does not apply to this private instance.
    app = embedded_app(settings.model_copy(update={"write_rate": "1000000/second"}))
    runtime = app.state.runtime
    runtime.start(background=False)
    try:
        yield app
    finally:
        runtime.close()


@dataclass
class Settled:
    published: int = 0
    aggregated: int = 0
    villages_rebuilt: int = 0
    publish_seconds: float = 0.0
    aggregate_seconds: float = 0.0


def settle(app: Any, progress: Progress = _quiet) -> Settled:
    """Publish the outbox and bring the aggregator's views up to date (embedded, in-process)."""
    runtime = app.state.runtime
    done = Settled()
    started = time.perf_counter()
    done.published = publish_outbox(runtime, progress)
    done.publish_seconds = time.perf_counter() - started
    started = time.perf_counter()
    done.aggregated, done.villages_rebuilt = catch_up(runtime, progress)
    done.aggregate_seconds = time.perf_counter() - started
    return done


def seed_embedded(
    settings: Settings,
    config: DemoConfig,
    *,
    concurrency: int = 4,
    progress: Progress = _quiet,
) -> SeedReport:
    """Seed the embedded platform's data directory in this process (platform stopped)."""
    with embedded_platform(settings) as app:
        client = AsgiClient(app, demo_token(settings))
        sent = asyncio.run(
            send_commands(
                client,
                generate(config),
                concurrency=concurrency,
                progress=progress,
                households=config.households,
            )
        )
        return SeedReport(sent, settle(app, progress))


def platform_running(settings: Settings, timeout_s: float = 0.5) -> bool:
    """Whether a Lumbung platform already answers on the configured host and port."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    conn = http.client.HTTPConnection(host, settings.port, timeout=timeout_s)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def publish_outbox(runtime: Any, progress: Progress = _quiet) -> int:
    """Publish every pending outbox event to the bus (what the relay does in the background)."""
    total = runtime.store.outbox_backlog()
    done = 0
    while True:
        sent = runtime.relay.drain_once()
        if not sent:
            return done
        done += sent
        progress("publish", done, max(total, done))


def catch_up(runtime: Any, progress: Progress = _quiet) -> tuple[int, int]:
    """Let the aggregator's consumer group consume everything published, building the
    village views once at the end; returns (events, villages rebuilt).

    The same projection, group and commits as the live consumer, with the view rebuild
    deferred as ``lumbung replay`` does it.
    """
    from services.aggregator.context import aggregator_of
    from services.aggregator.projector import Projector
    from services.aggregator.service import TOPICS
    from shared.consumer import ConsumerWorker

    agg = aggregator_of(runtime)
    projector = Projector(runtime.store, agg.views, defer_views=True)
    worker = ConsumerWorker(
        runtime.bus,
        runtime.settings.consumer_group,
        TOPICS,
        projector,
        batch=5000,
        poll_timeout_s=0.05,
    )
    done = 0
    try:
        while True:
            n = worker.step()
            done += n
            left = worker.lag()
            progress("aggregate", done, done + left)
            if n == 0 and left == 0:
                break
    finally:
        worker.stop()
    villages = projector.flush_views()
    agg.views.roll_over()
    return done, villages
