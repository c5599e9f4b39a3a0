"""The aggregator's view workers end with it, even when it is killed outright."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil

from tests.servers import line_of_killed_script

# Starts a view builder's worker pool, prints the pids of every process below it, then
# dies by SIGKILL (as the chaos test and the OOM killer end an aggregator).
CHILD = """
import json, os, signal, sys
from datetime import date
import psutil
from services.aggregator.domain.rules import DEFAULT_RULES
from services.aggregator.views import ViewBuilder
from shared.adapters.sqlite_store import SqliteStore

if __name__ == "__main__":
    views = ViewBuilder(
        SqliteStore(sys.argv[1]), DEFAULT_RULES, date.today, history_months=12, workers=2
    )
    pool = views._workers(2)
    list(pool.map(abs, range(8)))  # both workers are up
    me = psutil.Process()
    workers = [p.pid for p in me.children(recursive=True) if p.ppid() != me.pid]
    print(json.dumps(workers), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_view_workers_end_soon_after_their_aggregator_is_killed(tmp_path: Path) -> None:
    line = line_of_killed_script(tmp_path, CHILD, str(tmp_path / "views.sqlite3"))
    workers = json.loads(line)
    assert len(workers) == 2  # forked from the forkserver, so not the aggregator's children
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in workers):
        time.sleep(0.2)
    alive = [p for p in workers if psutil.pid_exists(p)]
    for pid in alive:  # do not leave them behind when the test fails
        psutil.Process(pid).kill()
    assert alive == [], "view workers outlived their aggregator"
