"""One write transaction on a shared SQLite connection, for both SQLite adapters."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def write_transaction(
    db: sqlite3.Connection, unavailable: Callable[[str], Exception]
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; any SQLite error rolls back and becomes ``unavailable``."""
    try:
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise unavailable(f"sqlite: {exc}") from exc
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
