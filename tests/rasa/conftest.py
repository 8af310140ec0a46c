"""`make test-rasa`: the bot under a real Rasa 3.6 server, with Redis, end to end.

These tests run only when tests/rasa is named on the command line (`pytest tests/rasa`, which
`make test-rasa` does after making `.venv-rasa` and training the model); `make test` never collects them.
Without `.venv-rasa` or a trained model they skip, saying how to get them.

One session starts, on free loopback ports: redis-server; the project's action server (main venv);
two `rasa run` servers sharing that Redis (RedisTrackerStore, RedisLockStore), as two machines behind
a load balancer would; and the project server, which serves documents, the widget and the embedded
engine for comparison. Everything is stopped when the session ends. Logs: var/rasa/run/.
"""
from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import pytest

import rasa_stack  # tests/rasa is on sys.path through this conftest, as tests/ is through its own
from rasa_stack import ROOT

HERE = Path(__file__).resolve().parent

RUN_DIR = ROOT / "var" / "rasa" / "run"
FIGURES = ROOT / "var" / "rasa" / "figures.json"
RASA_READY_SECONDS = 240  # two servers loading TensorFlow at once on 2 busy cores


def _named_on_command_line(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave tests/rasa out of `make test` (pytest with no arguments), in when named explicitly."""
    if collection_path.resolve() != HERE and not _named_on_command_line(config):
        return True
    return None


@dataclass
class Stack:
    """The running deployment: URLs of each part, and the figures recorded for docs/benchmarks.md."""

    rasa: str
    rasa_b: str
    actions: str
    project: str
    redis_port: int


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    """Figures tests record (eval results, timings, memory); written to var/rasa/figures.json."""
    recorded: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M")}
    yield recorded
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(recorded, indent=1), encoding="utf-8")


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    if not rasa_stack.RASA.exists():
        pytest.skip(f"{rasa_stack.RASA} not found: run `make test-rasa` (makes .venv-rasa with Python 3.10)")
    model = rasa_stack.model_path()
    if model is None or not model.exists():
        pytest.skip("no trained Rasa model in var/rasa/models: run `make test-rasa` (trains on bot/)")
    return model


@pytest.fixture(scope="session")
def host_site() -> Iterator[Any]:
    """A page on another origin that embeds the widget, as a hospital's site would."""
    from browsing import HostSite

    with HostSite() as site:
        yield site


def seeded_trial_store(path: Path) -> str:
    """One trial store for the action server and the project server: the recorded registry studies and
    the trial finder's test studies (the servers add the curated records from the index)."""
    from trial_data import recorded_studies, uterine_sarcoma_studies
    from knowledge.trial_store import TrialStore

    with TrialStore(path) as store:
        store.upsert(recorded_studies() + uterine_sarcoma_studies(), "ctgov-api-v2")
    return str(path)


@pytest.fixture(scope="session")
def stack(rasa_model, real_index_dir, tmp_path_factory, host_site, figures) -> Iterator[Stack]:
    from redis_server import RedisServer, available
    from serving import free_port, running_server

    if not available():
        pytest.skip("redis-server not found: run `make system-deps` (installs Debian's redis-server)")
    if RUN_DIR.exists():
        shutil.rmtree(RUN_DIR)
    RUN_DIR.mkdir(parents=True)
    work = tmp_path_factory.mktemp("rasa-stack")
    trial_store = seeded_trial_store(work / "trials.sqlite3")
    redis = RedisServer(RUN_DIR / "redis")
    redis.start()
    services: list[rasa_stack.Service] = []
    try:
        with rasa_stack.stopping(services):
            actions = rasa_stack.start_action_server(
                free_port(), RUN_DIR, {"RCA_INDEX_DIR": str(real_index_dir), "RCA_REPORTS_DIR": str(work / "reports"),
                                       "RCA_TRIAL_STORE": trial_store})
            services.append(actions)
            endpoints = rasa_stack.write_endpoints(RUN_DIR / "endpoints.yml", actions.url, redis.port)
            rasa_a = rasa_stack.start_rasa("rasa a", rasa_model, free_port(), endpoints, RUN_DIR, [host_site.origin])
            services.append(rasa_a)
            rasa_b = rasa_stack.start_rasa("rasa b", rasa_model, free_port(), endpoints, RUN_DIR, [host_site.origin])
            services.append(rasa_b)
            with running_server(real_index_dir, RUN_DIR, RCA_CORS_ORIGINS=host_site.origin,
                                RCA_TRIAL_STORE=trial_store) as (project, _process):
                actions.wait_ready(lambda: rasa_stack.action_server_ready(actions.url), 120)
                with ThreadPoolExecutor(2) as pool:  # both Rasa servers load at the same time
                    waits = [pool.submit(rasa.wait_ready, partial(rasa_stack.rasa_ready, rasa.url), RASA_READY_SECONDS)
                             for rasa in (rasa_a, rasa_b)]
                    for wait in waits:
                        wait.result()
                figures["ready_seconds"] = {"rasa_run": max(rasa_a.ready_seconds, rasa_b.ready_seconds),
                                            "action_server": actions.ready_seconds}
                for rasa in (rasa_a, rasa_b):  # the first answer loads the action server's model and index
                    rasa_stack.say(rasa.url, f"warm-up-{rasa.name[-1]}", "What is a rare cancer?", timeout=180)
                yield Stack(rasa=rasa_a.url, rasa_b=rasa_b.url, actions=actions.url, project=project,
                            redis_port=redis.port)
                figures["rss_mb"] = {"rasa_run": rasa_a.rss_mb(), "action_server": actions.rss_mb()}
    finally:
        redis.stop()


@pytest.fixture(scope="session")
def browser():
    from browsing import CHROMIUM, chromium

    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} not found: run `make system-deps`")
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh browser context per test; script errors and dialogs are recorded, and fail the test."""
    from browsing import fresh_page

    with fresh_page(browser) as fresh:
        yield fresh
    assert fresh.errors == [] and fresh.dialogs == [], (fresh.errors, fresh.dialogs)
