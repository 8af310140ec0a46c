"""Start `python -m server` for real in a test: a free port, a temporary database, and a clean stop.

A plain module (tests/ folders have no __init__.py); tests/ is on sys.path through its conftest.py.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: dict | None = None, method: str | None = None, headers: dict | None = None) -> Any:
    """A JSON request; raises urllib.error.HTTPError on a 4xx or 5xx."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@contextmanager
def running_server(index_dir: Path, work: Path, workers: int = 2, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base URL, process) of a ready gunicorn server; its output goes to work/server.log."""
    port = free_port()
    # The cache folder (the ONNX export, intent vectors, keyed by their inputs) is shared with other runs.
    environ = dict(os.environ, RCA_INDEX_DIR=str(index_dir), RCA_DATABASE=str(work / "sessions.sqlite3"),
                   RCA_REPORTS_DIR=str(work / "reports"), **env)
    environ.setdefault("RCA_RATE_LIMIT_PER_MINUTE", "0")  # tests that measure the limit set it themselves
    log = open(work / "server.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "server", "--port", str(port), "--workers", str(workers)],
                               cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, work / "server.log")
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _wait_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            call(f"{url}/readyz")
            return
        except (OSError, ValueError):
            if process.poll() is not None:
                raise RuntimeError("server exited:\n" + log_path.read_text(errors="replace")[-4000:])
            time.sleep(0.3)
    raise RuntimeError("server did not become ready:\n" + log_path.read_text(errors="replace")[-4000:])
