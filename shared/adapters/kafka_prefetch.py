"""A Kafka consumer that fetches in a child process (``KafkaBus.consumer(prefetch=True)``).

kafka-python parses every fetched record in Python, under the GIL of the process that polls,
so a consumer that also does heavy work per record (the aggregator's decode and fold) spends
about a third of its time fetching. Here a child process owns the ``KafkaConsumer`` (group
membership, fetching, offset commits) and hands each batch over a pipe; while the parent
handles one batch of a backlog, the child already fetches the next, on the other core.

Delivery is unchanged: offsets move only in ``commit``, which commits, per partition, the
offset after the last record this wrapper's ``poll`` returned (never one only prefetched).
A prefetched batch is dropped with the child, so it is delivered again to whoever owns its
partitions next. The next batch is fetched ahead only while records are known to wait
(``backlog`` > 0); a caught-up consumer polls on demand, so a commit never queues behind a
poll that waits for new records.

The child ends with its parent: on the pipe's end of file, or within a second of the parent
going away (even by SIGKILL), as it then stops being the child's parent.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

from shared.ports.bus import BusUnavailable, Consumer, Record

log = logging.getLogger(__name__)

PARENT_CHECK_S = 1.0
# How long the parent waits for an answer beyond the poll's own timeout: a group join can
# take a session timeout and more before the first records.
_ANSWER_MARGIN_S = 60.0
_CLOSE_TIMEOUT_S = 15.0

Row = tuple[str, int, int, str | None, bytes]


class PrefetchingConsumer(Consumer):
    """The ``Consumer`` of a child process's Kafka consumer; thread-safe, one call at a time."""

    def __init__(
        self,
        bus_config: dict[str, Any],
        group: str,
        topics: Sequence[str],
        *,
        from_beginning: bool = True,
    ) -> None:
        """``bus_config``: the ``KafkaBus`` arguments the child builds its bus with."""
        context = get_context("spawn")
        self._conn, child_end = context.Pipe()
        self._process = context.Process(
            target=serve,
            args=(child_end, bus_config, group, list(topics), from_beginning, os.getpid()),
            name=f"kafka-fetch-{group}",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._lock = threading.Lock()
        self._waiting: deque[str] = deque()  # the kinds of the requests not answered yet
        self._ahead: tuple[list[Row], int | None] | BusUnavailable | None = None
        self._next: dict[tuple[str, int], int] = {}  # after the last record returned
        self._backlog: int | None = None
        self._broken: str | None = None  # why the pipe can no longer be used
        self._closed = False

    # -- the pipe ---------------------------------------------------------------------------

    def _send(self, request: tuple[Any, ...]) -> None:
        if self._broken is not None:  # answers would no longer pair with their requests
            raise BusUnavailable(self._broken)
        try:
            self._conn.send(request)
        except (OSError, ValueError) as exc:
            self._broken = f"kafka fetch process: {exc!r}"
            raise BusUnavailable(self._broken) from exc
        self._waiting.append(request[0])

    def _answer_to(self, kind: str, timeout_s: float) -> Any:
        """Read answers in order up to the oldest request of ``kind``; a poll's answer read
        on the way is kept as the batch ahead."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self._waiting:
                raise RuntimeError(f"no {kind} request is waiting for its answer")
            try:
                if not self._conn.poll(max(0.0, deadline - time.monotonic())):
                    self._broken = f"kafka fetch process: no answer in {timeout_s:.0f}s"
                    raise BusUnavailable(self._broken)
                answer = self._conn.recv()
            except (EOFError, OSError) as exc:
                self._broken = f"kafka fetch process ended: {exc!r}"
                raise BusUnavailable(self._broken) from exc
            asked = self._waiting.popleft()
            outcome: Any = BusUnavailable(answer[1]) if answer[0] == "error" else answer[1:]
            if asked == kind:
                return outcome
            if asked == "poll":
                self._ahead = outcome
            elif isinstance(outcome, BusUnavailable):  # a commit not waited for
                log.warning("kafka commit without waiting failed (the next covers it): %s", outcome)

    # -- the port ---------------------------------------------------------------------------

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        with self._lock:
            ahead, self._ahead = self._ahead, None
            if ahead is None:
                if "poll" not in self._waiting:
                    self._send(("poll", max_records, timeout_s))
                ahead = self._answer_to("poll", timeout_s + _ANSWER_MARGIN_S)
            if isinstance(ahead, BusUnavailable):
                raise ahead
            rows, backlog = ahead
            if len(rows) > max_records:  # fetched ahead for a larger batch than asked now
                rows, rest = rows[:max_records], rows[max_records:]
                self._ahead = (rest, backlog)
                backlog = (backlog or 0) + len(rest)
            elif backlog:  # records wait behind these: fetch them while these are handled
                self._send(("poll", max_records, timeout_s))
            self._backlog = backlog
            records = [Record(t, p, o, k, v) for t, p, o, k, v in rows]
            known = self._next
            for record in records:
                known[(record.topic, record.partition)] = record.offset + 1
            return records

    def commit(self, *, wait: bool = True) -> None:
        """Commit the offsets after the records ``poll`` returned (the child leaves out a
        partition no longer assigned to it). ``wait=False``: the child commits without
        waiting, and this returns once the request is sent."""
        with self._lock:
            if not self._next:
                return
            self._send(("commit", dict(self._next), wait))
            if wait:
                outcome = self._answer_to("commit", _ANSWER_MARGIN_S)
                if isinstance(outcome, BusUnavailable):
                    raise outcome

    def lag(self) -> dict[tuple[str, int], int]:
        """The child's lag (its positions are past any batch it fetched ahead), plus the
        records fetched ahead and not yet returned by ``poll``."""
        with self._lock:
            self._send(("lag",))
            outcome = self._answer_to("lag", _ANSWER_MARGIN_S)
            if isinstance(outcome, BusUnavailable):
                raise outcome
            lags: dict[tuple[str, int], int] = outcome[0]
            if self._ahead is not None and not isinstance(self._ahead, BusUnavailable):
                for topic, partition, *_ in self._ahead[0]:
                    if (topic, partition) in lags:
                        lags[(topic, partition)] += 1
            return lags

    def backlog(self) -> int | None:
        return self._backlog

    def close(self) -> None:
        """Leave the group without committing, and end the child. When another thread is
        still inside a call (a worker stopped in the middle of a poll), the child is killed
        instead: its group then moves the partitions on after the session timeout."""
        if not self._lock.acquire(timeout=_CLOSE_TIMEOUT_S):
            self._process.kill()
            return
        try:
            if self._closed:
                return
            self._closed = True
            try:
                self._send(("close",))
                self._answer_to("close", _CLOSE_TIMEOUT_S)
            except (BusUnavailable, RuntimeError) as exc:
                log.debug("kafka fetch process close: %s", exc)
            self._process.join(_CLOSE_TIMEOUT_S)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(_CLOSE_TIMEOUT_S)
            self._conn.close()
        finally:
            self._lock.release()


# -- the child --------------------------------------------------------------------------------


def serve(
    conn: Connection,
    bus_config: dict[str, Any],
    group: str,
    topics: list[str],
    from_beginning: bool,
    parent_pid: int,
) -> None:
    """The child process: answer each request in order until ``close`` or the parent's end."""
    from shared.adapters.kafka_bus import KafkaBus
    from shared.gc_tuning import tune_gc

    tune_gc()
    bus = KafkaBus(**bus_config)
    consumer = None
    try:
        while True:
            while not conn.poll(PARENT_CHECK_S):
                if os.getppid() != parent_pid:
                    return
            request = conn.recv()
            kind = request[0]
            if kind == "close":
                if consumer is not None:
                    consumer.close()
                    consumer = None
                conn.send(("close",))
                return
            try:
                if consumer is None:
                    consumer = bus.consumer(group, topics, from_beginning=from_beginning)
                if kind == "poll":
                    records = consumer.poll(request[1], request[2])
                    rows = [(r.topic, r.partition, r.offset, r.key, r.value) for r in records]
                    answer: tuple[Any, ...] = ("poll", rows, consumer.backlog())
                elif kind == "commit":
                    consumer.commit_offsets(request[1], wait=request[2])
                    answer = ("commit",)
                elif kind == "lag":
                    answer = ("lag", consumer.lag())
                else:
                    answer = ("error", f"unknown request {kind!r}")
            except BusUnavailable as exc:
                answer = ("error", str(exc))
            except Exception as exc:  # the parent raises it as the bus being unavailable
                log.exception("kafka fetch process: %s failed", kind)
                answer = ("error", f"kafka fetch process: {type(exc).__name__}: {exc}")
            conn.send(answer)
    except (EOFError, OSError):
        return  # the parent is gone
    finally:
        if consumer is not None:
            consumer.close()
        bus.close()
