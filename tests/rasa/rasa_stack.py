"""Start and stop the real Rasa deployment for `make test-rasa`: Redis, the action server, `rasa run`.

A plain module (tests/ folders have no __init__.py); tests/rasa is on sys.path through its conftest.py.
Every process listens on a free loopback port, writes its log under the given work folder, is waited
for with a bounded timeout, and is stopped (its whole process group) when the block ends.

Rasa runs from `.venv-rasa` (Python 3.10, `rasa==3.6.21`, made by `make test-rasa`) with HOME inside
that venv, where `rasa telemetry disable` has been run, and RASA_TELEMETRY_ENABLED=false as well.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
RASA_VENV = Path(os.environ.get("RCA_RASA_VENV") or ROOT / ".venv-rasa")
RASA = RASA_VENV / "bin" / "rasa"
MODELS = ROOT / "var" / "rasa" / "models"
WEBHOOK = "/webhooks/rest/webhook"


def rasa_env() -> dict[str, str]:
    """The environment every rasa command runs in: telemetry off, HOME in the venv, quiet TensorFlow."""
    home = RASA_VENV / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
               SQLALCHEMY_SILENCE_UBER_WARNING="1", PYTHONWARNINGS="ignore", TQDM_DISABLE="1",
               RASA_CACHE_DIRECTORY=str(ROOT / "var" / "rasa" / "cache"),  # not .rasa/ in the working folder
               PATH=f"{RASA_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def model_path() -> Path | None:
    """The model `make test-rasa` trained (RCA_RASA_MODEL), else the newest in var/rasa/models."""
    if os.environ.get("RCA_RASA_MODEL"):
        path = Path(os.environ["RCA_RASA_MODEL"])
        return path if path.is_absolute() else ROOT / path
    models = sorted(MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def request(url: str, body: Any = None, timeout: float = 60, method: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        raw = response.read()
        return json.loads(raw) if raw.strip() else None


def say(rasa_url: str, sender: str, message: str, timeout: float = 60) -> list[dict[str, Any]]:
    """One message through Rasa's REST channel: its list of bot replies."""
    return request(rasa_url + WEBHOOK, {"sender": sender, "message": message}, timeout=timeout)


class Service:
    """One started process: its URL, log file and process (in its own process group)."""

    def __init__(self, name: str, command: list[str], url: str, log: Path, env: dict[str, str],
                 cwd: Path = ROOT):
        self.name, self.command, self.url, self.log_path = name, command, url, log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.started = time.monotonic()
        self.ready_seconds: float | None = None

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def wait_ready(self, check, timeout: float) -> None:
        """Poll `check()` (True when ready) until `timeout` seconds after the start."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if check():
                    self.ready_seconds = round(time.monotonic() - self.started, 1)
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.log()}")

    def rss_mb(self) -> float | None:
        """Resident memory of the process and its children, in MB (Linux /proc)."""
        total = 0
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            pids += [int(c) for c in children]
            for pid in pids:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            return None
        return round(total / 1024, 1)

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


def start_action_server(port: int, work: Path, env: dict[str, str]) -> Service:
    """The project's actions: `SANIC_HOST=127.0.0.1 python -m rasa_sdk --actions bot.actions` (main venv)."""
    environ = dict(os.environ, SANIC_HOST="127.0.0.1", **env)
    return Service("action server", [sys.executable, "-m", "rasa_sdk", "--actions", "bot.actions", "--port", str(port)],
                   f"http://127.0.0.1:{port}", work / "action-server.log", environ)


def write_endpoints(path: Path, action_url: str, redis_port: int) -> Path:
    """bot/endpoints.yml with this run's action server and Redis port; everything else unchanged."""
    endpoints = yaml.safe_load((BOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = f"{action_url}/webhook"
    for store in ("tracker_store", "lock_store"):
        assert endpoints[store]["type"] in ("redis", "rasa_lock_store.AtomicRedisLockStore"), \
            f"bot/endpoints.yml: {store} must be on Redis"
        endpoints[store].update(url="127.0.0.1", port=redis_port)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def start_rasa(name: str, model: Path, port: int, endpoints: Path, work: Path, cors: list[str]) -> Service:
    """`rasa run --enable-api -i 127.0.0.1` with the REST channel (bot/credentials.yml) and Redis stores."""
    command = [str(RASA), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "--model", str(model),
               "--endpoints", str(endpoints), "--credentials", str(BOT / "credentials.yml"),
               "--response-timeout", "120"]
    if cors:
        command += ["--cors", *cors]
    return Service(name, command, f"http://127.0.0.1:{port}", work / f"{name.replace(' ', '-')}.log", rasa_env(),
                   cwd=BOT)


def rasa_ready(url: str) -> bool:
    """`GET /status` names the loaded model once the agent is ready to handle messages."""
    try:
        status = request(f"{url}/status", timeout=5)
    except urllib.error.HTTPError:
        return False
    return bool(status and status.get("model_file"))


def action_server_ready(url: str) -> bool:
    return request(f"{url}/health", timeout=5).get("status") == "ok"


@contextmanager
def stopping(services: list[Service]) -> Iterator[list[Service]]:
    """Stops every service in the list when the block ends, last started first, whatever happened."""
    try:
        yield services
    finally:
        for service in reversed(services):
            service.stop()
