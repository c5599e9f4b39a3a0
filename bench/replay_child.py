"""One replay measurement in its own process: `python -m bench.replay_child DATA_DIR`.

Runs the real ``services.aggregator.replay.replay`` on the embedded path (in-process bus
log + SQLite store in DATA_DIR; the store file is deleted first, so the read model starts
empty) and prints one JSON line: events, seconds, rate, the time spent folding events versus
rebuilding views, CPU seconds and the process's peak RSS (VmHWM; ru_maxrss too, which on
Linux also carries the parent's size over the fork and exec), and the peak of the sum over
the process and its descendants (the worker processes that build the views at the end).
With --mark-live, the live consumer groups' offsets (the aggregator's and the agriculture
feed builder's) are then set to the end of the log, so an embedded platform started on
DATA_DIR has nothing left to consume (for the read and freshness figures): a platform that
had lived through that history would have consumed it as it came.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sqlite3
import sys
import threading
import time
from pathlib import Path

import psutil


def _vm_hwm_mb() -> float | None:
    """Peak resident set size of this process (VmHWM), in MB; None if unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class TreeMemory:
    """Samples the resident memory of this process and all its descendants (the view
    builder's worker processes and their fork server) every ``every_s``; keeps the peak sum."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self, every_s: float) -> None:
        me = psutil.Process()
        while not self._stop.wait(every_s):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker may end meanwhile
                    total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)


def main() -> None:
    data_dir = Path(sys.argv[1])
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"lumbung.sqlite3{suffix}").unlink(missing_ok=True)

    from services.aggregator.replay import replay
    from services.catalog import SERVICES
    from shared.runtime import bootstrap, tune_gc
    from shared.settings import Settings

    settings = Settings(data_dir=data_dir)
    runtime = bootstrap(settings, [SERVICES["aggregator"]], label="aggregator")
    tune_gc()  # as `lumbung replay` does
    runtime.start(background=False)
    marks: list[tuple[float, int, int]] = []
    last = [0.0]
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        marks.append((now, done, total))
        if now - last[0] > 5:
            last[0] = now
            print(f"[replay] {done:,}/{total:,} events", file=sys.stderr, flush=True)

    try:
        with TreeMemory() as tree:
            result = replay(runtime, progress=progress)
    finally:
        runtime.close()
    folded = min((t for t, done, _ in marks if done == result.events), default=started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if "--mark-live" in sys.argv:
        with sqlite3.connect(data_dir / "bus.sqlite3") as db:
            for group in (settings.consumer_group, settings.feed_group):
                db.execute(
                    "INSERT OR REPLACE INTO bus_offsets (grp, topic, part, off) "
                    "SELECT ?, topic, part, MAX(off) + 1 FROM bus_log GROUP BY topic, part",
                    (group,),
                )
    print(
        json.dumps(
            {
                "events": result.events,
                "villages": result.villages,
                "seconds": result.seconds,
                "rate": result.rate,
                "fold_seconds": folded - started,
                "views_seconds": time.perf_counter() - folded,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                # ru_maxrss survives execve on Linux: a child forked from a large parent
                # starts with the parent's resident size as its "peak". VmHWM is the high
                # water mark of this process's own memory; both are reported.
                "peak_rss_mb": _vm_hwm_mb() or usage.ru_maxrss / 1024,
                "ru_maxrss_mb": usage.ru_maxrss / 1024,
                # with the view builder's worker processes (sampled every 0.25 s)
                "peak_tree_rss_mb": tree.peak_mb,
            }
        )
    )


if __name__ == "__main__":
    main()
