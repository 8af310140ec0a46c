"""Chat-turn latency and throughput over HTTP, sequential and with concurrent sessions.

    make run   # in another terminal (or any running server)
    .venv/bin/python bench/load.py [--url http://127.0.0.1:5005] [--levels 1,8,32,64] [--seconds 20]

Each simulated person keeps one session and sends the evaluation questions in turn over a kept-alive
connection. Client latency includes HTTP and queueing; server latency is the app's own time, read
from the `Server-Timing` header. Requests from this machine are not rate limited (the
`rate_limit_exempt` setting), so the load is measured, not the limit.
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def messages() -> list[str]:
    return [json.loads(line)["q"] for name in ("questions.jsonl", "medquad.jsonl")
            for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def person(url: str, texts: list[str], offset: int, until: float, out: list[tuple[int, float, float]],
           unique: bool = False) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    session = f"load-{uuid.uuid4().hex[:12]}"
    turn = offset
    while time.perf_counter() < until:
        text = texts[turn % len(texts)]
        if unique:  # a word no cache has seen: every turn embeds afresh, as a new question does
            text = f"{text} {session[-6:]}{turn}"
        body = json.dumps({"session_id": session, "message": text})
        began = time.perf_counter()
        try:
            connection.request("POST", "/api/chat", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status, timing = response.status, response.getheader("Server-Timing", "")
        except (OSError, http.client.HTTPException):
            status, timing = 0, ""
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        client_ms = (time.perf_counter() - began) * 1000
        server_ms = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
        out.append((status, client_ms, server_ms))
        turn += 1
    connection.close()


def run_level(url: str, texts: list[str], concurrency: int, seconds: float, unique: bool = False) -> dict[str, float]:
    results: list[tuple[int, float, float]] = []
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=person, args=(url, texts, i * 7, until, results, unique)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ok = [r for r in results if r[0] == 200]
    client = np.array([r[1] for r in ok]) if ok else np.array([np.nan])
    server = np.array([r[2] for r in ok]) if ok else np.array([np.nan])
    return {"concurrency": concurrency, "turns": len(results), "errors": len(results) - len(ok),
            "turns_per_s": len(ok) / elapsed,
            **{f"client_p{p}": float(np.percentile(client, p)) for p in (50, 95, 99)},
            **{f"server_p{p}": float(np.nanpercentile(server, p)) for p in (50, 95, 99)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--levels", default="1,8,32,64", help="comma-separated numbers of concurrent sessions")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each level")
    parser.add_argument("--unique", action="store_true",
                        help="make every message new (no query embedding cached); default: the question set repeats")
    args = parser.parse_args()
    try:
        levels = [int(level) for level in args.levels.split(",")]
    except ValueError:
        parser.error("--levels must be comma-separated whole numbers, e.g. 1,8,32")
    texts = messages()
    run_level(args.url, texts, 2, 3.0)  # warm caches and connections
    print("sessions  turns  errors  turns/s  client p50/p95/p99 ms     server p50/p95/p99 ms")
    for level in levels:
        r = run_level(args.url, texts, level, args.seconds, args.unique)
        print(f"{r['concurrency']:>8}  {r['turns']:>5}  {r['errors']:>6}  {r['turns_per_s']:>7.1f}  "
              f"{r['client_p50']:>6.1f} {r['client_p95']:>6.1f} {r['client_p99']:>7.1f}     "
              f"{r['server_p50']:>6.1f} {r['server_p95']:>6.1f} {r['server_p99']:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
