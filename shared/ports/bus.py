"""The bus port: a partitioned, ordered-per-key log with consumer groups (Kafka's model).

Adapters: ``shared.adapters.inproc_bus`` (embedded mode) and ``shared.adapters.kafka_bus``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


class BusUnavailable(RuntimeError):
    """The bus cannot be reached now; the caller may retry later."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes


class Consumer(ABC):
    """A member of a consumer group. Offsets move only when ``commit`` is called."""

    @abstractmethod
    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Next records after this consumer's position; [] when none arrived in time."""

    @abstractmethod
    def commit(self, *, wait: bool = True) -> None:
        """Commit the position after every record returned by ``poll`` so far.

        ``wait=False`` lets an adapter send the commit without waiting for its outcome (the
        next commit covers one that fails; at worst records are delivered again, which
        consumers are idempotent to); an adapter whose commit is local may ignore it."""

    @abstractmethod
    def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet consumed, per (topic, partition) assigned to this consumer."""

    def backlog(self) -> int | None:
        """Records known to be waiting after the last ``poll`` (at least this many), from
        what this consumer already knows (no round trip, unlike ``lag``); None when it
        cannot tell."""
        return None

    @abstractmethod
    def close(self) -> None: ...


class Bus(ABC):
    partitions: int

    @abstractmethod
    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics with the configured partition count if they are missing."""

    @abstractmethod
    def publish(self, messages: Sequence[Message]) -> None:
        """Send and wait until every message is durably acknowledged, in order per key.

        Raises BusUnavailable when the bus cannot take them all; some may still have been
        written, so a retry can duplicate them: consumers drop events by id.
        """

    @abstractmethod
    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        from_beginning: bool = True,
        prefetch: bool = False,
    ) -> Consumer:
        """A new member of ``group``. ``prefetch``: the adapter may fetch the next batch of a
        backlog while the caller handles the last (same delivery; an adapter without a
        fetch of its own ignores it)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise BusUnavailable when the bus is not reachable."""

    @abstractmethod
    def close(self) -> None: ...
