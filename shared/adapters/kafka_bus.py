"""Kafka adapter of the bus port, on kafka-python 3.x.

Clients are built lazily and rebuilt after a failure, so a service can start, and keep
running, while the broker is down; failing to reach the broker surfaces as ``BusUnavailable``.
kafka-python 3 has no ``NoBrokersAvailable``: an unreachable broker shows up as
``KafkaTimeoutError`` (bootstrap, metadata, delivery) or another ``KafkaError``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import errors as kafka_errors
from kafka.net.compat import KafkaNetClient
from kafka.structs import OffsetAndMetadata, TopicPartition

from shared.ports.bus import Bus, BusUnavailable, Consumer, Message, Record

log = logging.getLogger(__name__)

# Bootstrap and send() metadata waits: a down broker must fail a call in seconds, not 30-60 s.
_CONNECT_TIMEOUT_MS = 5_000
# ping() must answer within ~3 s when the broker is down, bootstrap of a new admin included.
_PING_TIMEOUT_MS = 2_500
# kafka-python's default (30 s) would keep clients backing off long after the broker is back.
_RECONNECT_BACKOFF_MAX_MS = 1_000
_LINGER_MS = 5
_TOPIC_EXISTS = kafka_errors.TopicAlreadyExistsError.errno
# Group-membership errors on commit: the partitions moved on, their records will be redelivered.
_REBALANCED = (
    kafka_errors.CommitFailedError,
    kafka_errors.RebalanceInProgressError,
    kafka_errors.IllegalGenerationError,
    kafka_errors.UnknownMemberIdError,
)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    if text in ("", "None", name, f"{name}: None"):
        return name
    return text if text.startswith(name) else f"{name}: {text}"


def _build(factory: Any, **config: Any) -> Any:
    """Construct a kafka-python client; if that fails, close the network client it made.

    kafka-python 3 starts an I/O thread before its eager bootstrap and does not stop it when the
    bootstrap fails, so every failed attempt against a down broker would leak a thread.
    """
    made: list[KafkaNetClient] = []

    def kafka_client(**kwargs: Any) -> KafkaNetClient:
        client = KafkaNetClient(**kwargs)
        made.append(client)
        return client

    try:
        return factory(kafka_client=kafka_client, **config)
    except BaseException:
        for client in made:
            with suppress(Exception):
                client.close()
        raise


class KafkaBus(Bus):
    """The bus on a Kafka cluster. Thread-safe, except the consumers it hands out."""

    def __init__(
        self,
        bootstrap: str,
        *,
        partitions: int = 6,
        client_id: str = "lumbung",
        session_timeout_ms: int = 10_000,
        request_timeout_ms: int = 10_000,
        replication_factor: int = 1,
        max_poll_records: int = 1_000,
    ) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.client_id = client_id
        self.session_timeout_ms = session_timeout_ms
        self.request_timeout_ms = request_timeout_ms
        self.replication_factor = replication_factor
        self.max_poll_records = max_poll_records
        self._producer: KafkaProducer | None = None
        self._admin: KafkaAdminClient | None = None
        self._known_topics: set[str] = set()
        self._producer_lock = threading.Lock()
        self._admin_lock = threading.Lock()
        self._closed = False

    # -- producer -------------------------------------------------------------------------------

    @property
    def _delivery_timeout_ms(self) -> int:
        # kafka-python requires delivery_timeout_ms >= request_timeout_ms + linger_ms.
        return self.request_timeout_ms + _LINGER_MS

    def _get_producer(self) -> KafkaProducer:
        with self._producer_lock:
            if self._closed:
                raise BusUnavailable("kafka: bus is closed")
            if self._producer is None:
                self._producer = _build(
                    KafkaProducer,
                    bootstrap_servers=self.bootstrap,
                    client_id=f"{self.client_id}-producer",
                    # Idempotence keeps per-partition order with up to 5 requests in flight:
                    # kafka-python then sends one batch per partition at a time.
                    enable_idempotence=True,
                    acks="all",
                    linger_ms=_LINGER_MS,
                    max_block_ms=_CONNECT_TIMEOUT_MS,
                    bootstrap_timeout_ms=_CONNECT_TIMEOUT_MS,
                    request_timeout_ms=self.request_timeout_ms,
                    delivery_timeout_ms=self._delivery_timeout_ms,
                    reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
                    # Topics come from ensure_topics with our partition count, never from the
                    # broker's auto-create with its own num.partitions.
                    allow_auto_create_topics=False,
                )
            return self._producer

    def _drop_producer(self, producer: KafkaProducer) -> None:
        with self._producer_lock:
            if self._producer is producer:
                self._producer = None
        _close_producer(producer, timeout_s=0)

    def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        self.ensure_topics(sorted({m.topic for m in messages} - self._known_topics))
        # Bootstrap + metadata + the last batch's delivery timeout, plus slack for the callbacks.
        deadline = time.monotonic() + (_CONNECT_TIMEOUT_MS + self._delivery_timeout_ms) / 1000 + 1
        producer: KafkaProducer | None = None
        try:
            producer = self._get_producer()
            futures = [
                producer.send(m.topic, value=m.value, key=m.key.encode("utf-8")) for m in messages
            ]
            producer.flush(timeout=max(0.0, deadline - time.monotonic()))
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except kafka_errors.MessageSizeTooLargeError as exc:
            # Not a broker outage: retrying would fail forever.
            if producer is not None:
                self._drop_producer(producer)
            raise ValueError(f"kafka: {_reason(exc)}") from exc
        except kafka_errors.KafkaError as exc:
            if producer is not None:
                self._drop_producer(producer)
            log.warning("kafka publish of %d message(s) failed: %s", len(messages), _reason(exc))
            raise BusUnavailable(f"kafka: {_reason(exc)}") from exc

    # -- admin ----------------------------------------------------------------------------------

    def _admin_call(self, what: str, call: Any) -> Any:
        """Run ``call(admin)`` on the cached admin client; drop it on failure so it is rebuilt."""
        with self._admin_lock:
            if self._closed:
                raise BusUnavailable("kafka: bus is closed")
            try:
                if self._admin is None:
                    self._admin = _build(
                        KafkaAdminClient,
                        bootstrap_servers=self.bootstrap,
                        client_id=f"{self.client_id}-admin",
                        bootstrap_timeout_ms=_PING_TIMEOUT_MS,
                        request_timeout_ms=_PING_TIMEOUT_MS,
                        reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
                    )
                return call(self._admin)
            except kafka_errors.KafkaError as exc:
                admin, self._admin = self._admin, None
                if admin is not None:
                    with suppress(Exception):
                        admin.close()
                log.debug("kafka %s failed: %s", what, _reason(exc))
                raise BusUnavailable(f"kafka: {_reason(exc)}") from exc

    def ensure_topics(self, topics: Sequence[str]) -> None:
        missing = [t for t in dict.fromkeys(topics) if t not in self._known_topics]
        if not missing:
            return
        spec = {
            t: {"num_partitions": self.partitions, "replication_factor": self.replication_factor}
            for t in missing
        }

        def create(admin: KafkaAdminClient) -> list[dict[str, Any]]:
            result = admin.create_topics(spec, raise_errors=False)
            failed = [e for e in result["topics"] if e["error_code"] not in (0, _TOPIC_EXISTS)]
            if not failed:
                # A producer right after us must find a leader for every partition.
                admin.wait_for_topics(missing)
            return failed

        for entry in self._admin_call("create_topics", create):
            error = kafka_errors.for_code(entry["error_code"])
            detail = entry.get("error_message") or error.__name__
            if error.retriable:
                raise BusUnavailable(f"kafka: create topic {entry['name']}: {detail}")
            raise RuntimeError(f"kafka: cannot create topic {entry['name']}: {detail}")
        self._known_topics.update(missing)

    def ping(self) -> None:
        self._admin_call("ping", lambda admin: admin.describe_cluster())

    # -- consumers ------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The arguments this bus was built with (a fetch process builds its own from them)."""
        return {
            "bootstrap": self.bootstrap,
            "partitions": self.partitions,
            "client_id": self.client_id,
            "session_timeout_ms": self.session_timeout_ms,
            "request_timeout_ms": self.request_timeout_ms,
            "replication_factor": self.replication_factor,
            "max_poll_records": self.max_poll_records,
        }

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        from_beginning: bool = True,
        prefetch: bool = False,
    ) -> Consumer:
        """Join ``group`` on ``topics`` (created if missing); the join itself happens in poll.
        ``prefetch``: fetch in a child process, the next batch of a backlog while the caller
        handles the last (``shared.adapters.kafka_prefetch``)."""
        self.ensure_topics(topics)
        if prefetch:
            from shared.adapters.kafka_prefetch import PrefetchingConsumer

            return PrefetchingConsumer(self.config(), group, topics, from_beginning=from_beginning)
        try:
            kafka_consumer = _build(
                KafkaConsumer,
                bootstrap_servers=self.bootstrap,
                client_id=f"{self.client_id}-{group}",
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest" if from_beginning else "latest",
                session_timeout_ms=self.session_timeout_ms,
                heartbeat_interval_ms=max(1, self.session_timeout_ms // 3),
                max_poll_records=self.max_poll_records,
                request_timeout_ms=self.request_timeout_ms,
                bootstrap_timeout_ms=_CONNECT_TIMEOUT_MS,
                reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
                allow_auto_create_topics=False,
            )
            positions = _Positions()
            kafka_consumer.subscribe(topics=list(topics), listener=positions)
        except kafka_errors.KafkaError as exc:
            raise BusUnavailable(f"kafka: {_reason(exc)}") from exc
        return KafkaBusConsumer(
            kafka_consumer, request_timeout_ms=self.request_timeout_ms, positions=positions
        )

    def close(self) -> None:
        with self._producer_lock:
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is not None:
            _close_producer(producer, timeout_s=self.request_timeout_ms / 1000)
        with self._admin_lock:
            admin, self._admin = self._admin, None
        if admin is not None:
            with suppress(Exception):
                admin.close()


def _log_failed_commit(offsets: Any, response: Any) -> None:
    if isinstance(response, Exception):
        log.warning(
            "kafka commit without waiting failed (its records will be redelivered unless a "
            "later commit covers them): %s",
            _reason(response),
        )


def _close_producer(producer: KafkaProducer, *, timeout_s: float) -> None:
    """Close, failing whatever is still pending.

    kafka-python's ``close()`` flushes first and raises ``KafkaTimeoutError`` when a batch is
    still pending, leaving the I/O thread running; force-close the sender in that case.
    """
    try:
        producer.close(timeout=timeout_s)
        return
    except Exception as exc:
        log.debug("kafka producer close: %s; forcing", _reason(exc))
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(1.0)
    with suppress(Exception):
        producer.close(timeout=0)


class _Positions(ConsumerRebalanceListener):
    """The next offset per partition as this consumer last learnt it (from the records
    ``poll`` returned, or once from ``position``), forgotten whenever the assignment
    changes, since a rebalance moves positions back to the committed offsets."""

    def __init__(self) -> None:
        self.next: dict[Any, int] = {}

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.next = {}

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.next = {}


class KafkaBusConsumer(Consumer):
    """One member of a consumer group; not thread-safe (use it from one thread).

    Offsets move only in ``commit``. A commit while a rebalance is merely pending succeeds (the
    member is still in the current generation). When this member has already been dropped from
    the group (e.g. it did not poll within max_poll_interval), Kafka rejects the commit; then
    ``commit`` logs a warning and returns instead of raising, because nothing is lost: the
    uncommitted records are redelivered to whichever member owns the partitions now (possibly
    this one, on its next poll, which rejoins), and consumers are idempotent. Only an
    unreachable broker raises ``BusUnavailable``.
    """

    def __init__(
        self,
        consumer: KafkaConsumer,
        *,
        request_timeout_ms: int,
        positions: _Positions,
    ) -> None:
        """``positions``: the listener ``consumer`` was subscribed with."""
        self._consumer = consumer
        self._timeout_ms = request_timeout_ms
        self._positions = positions

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        try:
            batches = self._consumer.poll(
                timeout_ms=max(0, int(timeout_s * 1000)), max_records=max_records
            )
        except kafka_errors.KafkaError as exc:
            raise BusUnavailable(f"kafka: {_reason(exc)}") from exc
        known = self._positions.next
        for tp, records in batches.items():
            if records:
                known[tp] = records[-1].offset + 1
        return [
            Record(
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=None if r.key is None else bytes(r.key).decode("utf-8", errors="replace"),
                value=bytes(r.value) if r.value is not None else b"",
            )
            for tp in sorted(batches, key=lambda tp: (tp.topic, tp.partition))
            for r in batches[tp]
        ]

    def commit(self, *, wait: bool = True) -> None:
        """Commit the positions after the records polled so far (kafka-python's positions only
        advance over records poll has returned, never over prefetched ones). ``wait=False``
        sends the commit without waiting for its answer; a commit that then fails is logged,
        and the next one covers its records."""
        self._commit(None, wait=wait)

    def commit_offsets(self, offsets: dict[tuple[str, int], int], *, wait: bool = True) -> None:
        """Commit these next offsets per (topic, partition), leaving out the partitions no
        longer assigned to this member (their new owner commits them)."""
        assigned = self._consumer.assignment()
        explicit = {
            tp: OffsetAndMetadata(offset, "", -1)
            for (topic, partition), offset in offsets.items()
            if (tp := TopicPartition(topic, partition)) in assigned
        }
        if explicit:
            self._commit(explicit, wait=wait)

    def _commit(self, offsets: dict[Any, Any] | None, *, wait: bool) -> None:
        try:
            if wait:
                self._consumer.commit(offsets, timeout_ms=self._timeout_ms)
            else:
                self._consumer.commit_async(offsets, callback=_log_failed_commit)
        except _REBALANCED as exc:
            log.warning(
                "kafka commit skipped after a rebalance (records will be redelivered): %s",
                _reason(exc),
            )
        except kafka_errors.KafkaError as exc:
            raise BusUnavailable(f"kafka: {_reason(exc)}") from exc

    def backlog(self) -> int | None:
        """Highwater minus position over the assigned partitions that a fetch response has
        described so far (no request is sent); None before any has been. Positions come
        from the records ``poll`` returned; ``position`` (which walks every partition) is
        asked only for a partition this consumer has not learnt one of since its last
        rebalance."""
        total: int | None = None
        known = self._positions.next
        try:
            for tp in self._consumer.assignment():
                highwater = self._consumer.highwater(tp)
                if highwater is None:
                    continue
                position = known.get(tp)
                if position is None:
                    position = self._consumer.position(tp, timeout_ms=0)
                    if position is None:
                        continue
                    known[tp] = position
                total = (total or 0) + max(0, highwater - position)
        except kafka_errors.KafkaError:  # a rebalance moved a partition meanwhile
            return None
        return total

    def lag(self) -> dict[tuple[str, int], int]:
        """End offset minus position per assigned partition; {} until the group join in poll."""
        assigned = sorted(self._consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
        if not assigned:
            return {}
        try:
            ends = self._consumer.end_offsets(assigned, timeout_ms=self._timeout_ms)
            lags: dict[tuple[str, int], int] = {}
            for tp in assigned:
                position = self._consumer.position(tp, timeout_ms=self._timeout_ms)
                if position is None or tp not in ends:
                    raise kafka_errors.KafkaTimeoutError(f"no position for {tp}")
                lags[(tp.topic, tp.partition)] = max(0, ends[tp] - position)
        except kafka_errors.IllegalStateError:
            return {}  # a rebalance took a partition away meanwhile; the caller asks again
        except kafka_errors.KafkaError as exc:
            raise BusUnavailable(f"kafka: {_reason(exc)}") from exc
        return lags

    def close(self) -> None:
        """Leave the group without committing; uncommitted records go to the next owner."""
        with suppress(Exception):
            self._consumer.close(autocommit=False, timeout_ms=self._timeout_ms)
