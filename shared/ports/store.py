"""The store port: a small document store whose writes carry their outbox events atomically.

Each write touches one document, the only atomic unit that both MongoDB 6+ and FerretDB 1.24
offer without transactions. A write may carry events: they are stored *inside* the same
document (``_outbox``) so that state and events are saved together or not at all; the relay
publishes them and then removes them. ``command_id`` makes a redone write detectable, so a
client retry after a crash never applies a change twice.

Adapters: ``shared.adapters.sqlite_store`` and ``shared.adapters.mongo_store``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Doc = dict[str, Any]
UpdateOutcome = Literal["applied", "already_applied", "missing", "precondition_failed"]

OUTBOX = "_outbox"
COMMANDS = "_cmds"
RECENT_COMMANDS = 64


class StoreUnavailable(RuntimeError):
    """The store cannot be reached now; nothing was written by the failed call."""


class DuplicateId(Exception):
    """An insert met an existing document with the same id."""

    def __init__(self, existing: Doc) -> None:
        super().__init__(existing.get("_id"))
        self.existing = existing


@dataclass(frozen=True)
class CollectionSpec:
    """A collection and the top-level fields it is queried by (each gets an index)."""

    name: str
    indexes: tuple[str, ...] = ()
    outbox: bool = False


@dataclass(frozen=True)
class OutboxEntry:
    collection: str
    doc_id: str
    events: list[Doc]
    created_at: float


@dataclass
class Page:
    items: list[Doc]
    next_cursor: str | None = None


@dataclass(frozen=True)
class BulkUpsert:
    """Replace-or-insert of a whole document (read models, idempotent by id)."""

    collection: str
    doc: Doc = field(default_factory=dict)


class Store(ABC):
    @abstractmethod
    def ensure(self, specs: Sequence[CollectionSpec]) -> None:
        """Create collections and indexes (idempotent)."""

    # --- writes that carry events --------------------------------------------------------
    @abstractmethod
    def insert(
        self, collection: str, doc: Doc, *, events: Sequence[Doc] = (), command_id: str
    ) -> None:
        """Insert ``doc`` (with ``_id``) and its events atomically; DuplicateId if it exists."""

    @abstractmethod
    def update(
        self,
        collection: str,
        doc_id: str,
        *,
        set_fields: Mapping[str, Any],
        events: Sequence[Doc] = (),
        command_id: str,
        expect: Mapping[str, Any] | None = None,
    ) -> UpdateOutcome:
        """Set fields and append events atomically, once per ``command_id``."""

    # --- plain documents -----------------------------------------------------------------
    @abstractmethod
    def get(self, collection: str, doc_id: str) -> Doc | None: ...

    @abstractmethod
    def get_many(self, collection: str, doc_ids: Iterable[str]) -> dict[str, Doc]: ...

    @abstractmethod
    def find(
        self,
        collection: str,
        where: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page:
        """Equality filter on top-level fields (a list value means "one of"); ordered by id."""

    @abstractmethod
    def count(self, collection: str, where: Mapping[str, Any] | None = None) -> int: ...

    @abstractmethod
    def put_if_absent(self, collection: str, doc: Doc) -> Doc | None:
        """Insert; when the id exists, return the existing document instead."""

    @abstractmethod
    def replace(self, collection: str, doc: Doc) -> None:
        """Upsert a whole document by ``_id``."""

    @abstractmethod
    def bulk_replace(self, upserts: Sequence[BulkUpsert]) -> None:
        """Upsert many whole documents; each one is atomic on its own."""

    @abstractmethod
    def delete(self, collection: str, doc_id: str) -> None: ...

    @abstractmethod
    def drop(self, collection: str) -> None:
        """Remove every document of a collection (read-model rebuilds)."""

    # --- outbox --------------------------------------------------------------------------
    @abstractmethod
    def outbox_pending(self, limit: int) -> list[OutboxEntry]:
        """Documents with unpublished events, oldest write first; what it returns is on the
        disk as durably as the store makes anything (a power cut cannot take it back after
        the relay has published it)."""

    @abstractmethod
    def outbox_ack(self, entry: OutboxEntry) -> None:
        """Remove exactly the events of ``entry`` from its document's outbox."""

    @abstractmethod
    def outbox_backlog(self) -> int:
        """Number of unpublished events."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable when the store is not reachable."""

    @abstractmethod
    def close(self) -> None: ...

    def reopener(self) -> Callable[[], Store] | None:
        """A picklable callable that opens another connection to the same data, for a
        worker process; None when there is no such thing (an in-memory store)."""
        return None


SCAN_PAGE = 500  # documents a read of ``scan`` unless told


def scan(
    store: Store,
    collection: str,
    where: Mapping[str, Any],
    after: str | None = None,
    *,
    page: int | None = None,
) -> Iterator[Doc]:
    """Every matching document in id order (past the cursor ``after``), ``page`` documents a
    read (bounded memory per page)."""
    while True:
        found = store.find(collection, where, limit=page or SCAN_PAGE, after=after)
        yield from found.items
        if found.next_cursor is None:
            return
        after = found.next_cursor
