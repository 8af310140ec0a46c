"""Run a real `redis-server` in a test: a free loopback port, a temporary folder, no persistence.

A plain module (tests/ folders have no __init__.py); tests/ is on sys.path through its conftest.py.
`RedisServer.stop()` then `start()` restarts it on the same port, as an outage the app must survive.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from serving import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def available() -> bool:
    """Whether a redis-server binary is installed (Debian: `apt-get install redis-server`)."""
    return os.access(REDIS_SERVER, os.X_OK)


class RedisServer:
    """One redis-server process on 127.0.0.1:`port`, its files (log, no dump) in `workdir`."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        if not available():  # `make test` installs it; a bare `pytest` without it must say how
            raise RuntimeError(f"{REDIS_SERVER} not found. Run `make system-deps` (installs Debian's redis-server).")
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("redis-server is already running")
        log = open(self.workdir / "redis.log", "ab")
        try:
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()  # the child keeps its own copy of the descriptor
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{self.log()}")
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {timeout} s:\n{self.log()}")

    def ping(self) -> bool:
        """True if the server answers PING (plain RESP over a socket, no client library)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL); its port is free again when this returns."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@contextmanager
def running_redis(workdir: Path) -> Iterator[RedisServer]:
    """Yield a started RedisServer, stopped when the block ends."""
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
