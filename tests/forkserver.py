"""A preloading launcher for kill tests: imports Lumbung once, then forks a fresh real
process per request, so a test can SIGKILL and restart a service hundreds of times without
paying Python's start-up each time. Protocol on stdin/stdout, one line each:
``<module> <port> <log path>`` -> ``<pid>``.  No thread is started before a fork."""

from __future__ import annotations

import os
import signal
import sys

import uvicorn  # noqa: F401  (preloaded: every child would import these)

import services.main
import shared.adapters.kafka_bus  # bootstrap imports the adapters lazily: preload them
import shared.adapters.mongo_store  # noqa: F401


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    for line in sys.stdin:
        module, port, log_path = line.split()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.environ["LUMBUNG_PORT"] = port
            service = module.removeprefix("services").removeprefix(".") or None
            try:
                services.main.serve(service)
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
