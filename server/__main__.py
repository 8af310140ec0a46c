"""`python -m server [--host 127.0.0.1] [--port 5005] [--workers N]`: serve on gunicorn, in the foreground.

Each worker builds its own app (the model and index load once per worker); the index must exist
(`make index`). Requests never log message text.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from index import settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from server.app import create_app

        return create_app()


def _port(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {number}")
    return number


def share_cores_between_workers(workers: int) -> None:
    """Unless RCA_TORCH_THREADS is set, each worker's model runs on its share of the cores.

    Every worker would otherwise start a thread per core for each embedding, and under concurrent
    requests they take the cores from each other (measured: 166 -> 216 turns/s at 8 sessions, 2 workers
    on 2 cores; docs/benchmarks.md). Set before gunicorn forks, so every worker reads it.
    """
    if not os.environ.get("RCA_TORCH_THREADS"):
        os.environ["RCA_TORCH_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=settings.get("host"))
    parser.add_argument("--port", type=_port, default=settings.get("port"))
    parser.add_argument("--workers", type=settings.positive_int, default=settings.get("workers"))
    args = parser.parse_args(argv)
    from index.store import IndexError_, load_current

    try:  # fail fast, with the fix, before starting workers that would all fail
        load_current(settings.get("index_dir"))  # checksums too: a damaged file must stop us here, not in the workers
    except IndexError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    share_cores_between_workers(args.workers)
    _Gunicorn({"bind": f"{args.host}:{args.port}", "workers": args.workers, "worker_class": "gthread",
               "threads": 4, "timeout": 60, "graceful_timeout": 10, "accesslog": None,
               "errorlog": "-", "loglevel": "info"}).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
