"""Start `python -m server` for real in a test: a free port, a temporary database, and a clean stop.

A plain module (tests/ folders have no __init__.py); tests/ is on sys.path through its conftest.py.
"""
from __future__ import annotations

import json
import os
import shutil
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
                   RCA_REPORTS_DIR=str(work / "reports"), RCA_TRIAL_STORE=str(work / "trials.sqlite3"))
    environ.update(env)
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


def private_knowledge_and_index(real_index_dir: Path, work: Path) -> tuple[Path, Path]:
    """Copies of the shipped knowledge folders and of the real index under `work`, free to change:
    (documents folder, index folder). Trials and organisations sit beside the documents, as shipped."""
    for part in ("documents", "trials", "organisations"):
        shutil.copytree(ROOT / "knowledge" / part, work / "knowledge" / part)
    shutil.copytree(real_index_dir, work / "index", symlinks=True)
    return work / "knowledge" / "documents", work / "index"


def index_env(documents: Path, index_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of `python -m index` on those folders, offline."""
    return dict(os.environ, RCA_KNOWLEDGE_DIR=str(documents), RCA_INDEX_DIR=str(index_dir), HF_HUB_OFFLINE="1",
                TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                RCA_TRIAL_STORE=str(index_dir.parent / "trials.sqlite3"), **extra)


def run_index(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m index ARGS`, its output captured."""
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def index_with_documents(real_index_dir: Path, work: Path, documents: dict[str, str]) -> tuple[Path, Path]:
    """A private copy of the real index with more documents ({file name: Markdown}) built in."""
    folder, index_dir = private_knowledge_and_index(real_index_dir, work)
    for name, text in documents.items():
        (folder / name).write_text(text, encoding="utf-8")
    build = run_index(["build"], index_env(folder, index_dir))
    assert build.returncode == 0, build.stderr[-4000:]
    return folder, index_dir
