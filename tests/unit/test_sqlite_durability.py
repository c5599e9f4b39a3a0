"""The SQLite store's commits do not wait for the disk, but nothing it hands the relay to
publish can be taken back by a power cut: ``outbox_pending`` syncs the write-ahead log
first (a synced log is what SQLite replays after the cut)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.adapters import sqlite_store
from shared.adapters.sqlite_store import SqliteStore
from shared.ports.store import CollectionSpec


def test_the_log_is_synced_before_pending_events_are_handed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path)
    store.ensure([CollectionSpec("things", outbox=True)])
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(sqlite_store.os, "fsync", fsync)
    assert store.outbox_pending(10) == []
    assert synced == []  # nothing to publish: no sync
    event = {"id": "e1", "type": "t", "source": "/lumbung/test", "villagecode": "3204052001"}
    store.insert("things", {"_id": "a", "n": 1}, events=[event], command_id="c1")
    assert synced == []  # the commit itself does not wait for the disk
    pending = store.outbox_pending(10)
    assert [e["id"] for p in pending for e in p.events] == ["e1"]
    assert synced == [str(path) + "-wal"]
    store.close()
