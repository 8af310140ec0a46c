"""Cold start to ready, and memory per gunicorn worker, of `python -m server` on the built index.

    make index && .venv/bin/python bench/startup.py [--workers 2] [--runs 3]

Ready means /readyz answers (every worker loads the model and index before it accepts requests).
RSS is read from /proc after 50 chat turns, so it includes what a worker holds in use.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(") ")[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def one_run(workers: int) -> tuple[float, float, list[float]]:
    port = free_port()
    env = dict(os.environ, RCA_RATE_LIMIT_PER_MINUTE="0")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "server", "--port", str(port), "--workers", str(workers)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/readyz", timeout=5).read()
                break
            except OSError:
                if process.poll() is not None or time.perf_counter() - started > 120:
                    raise SystemExit("server did not start; run `make index` first")
                time.sleep(0.05)
        ready = time.perf_counter() - started
        for turn in range(50):
            body = json.dumps({"session_id": f"startup-{turn % 5}", "message": "What is thymoma and how is it treated?"})
            request = urllib.request.Request(f"{url}/api/chat", body.encode(), {"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=60).read()
        return ready, rss_mb(process.pid), [rss_mb(pid) for pid in children(process.pid)]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        ready, master, workers = one_run(args.workers)
        print(f"run {run}: ready in {ready:.2f} s; RSS master {master:.0f} MB, workers "
              + ", ".join(f"{w:.0f} MB" for w in workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
