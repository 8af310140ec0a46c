"""Re-index faults while gunicorn serves traffic: builds SIGKILLed at random points, a second concurrent
build, a truncated index at start, and poisoned content.

Whatever happens to a build, no request fails, none mixes two builds, the old build keeps serving until
a whole new one is published, and the next build succeeds.
"""
from __future__ import annotations

import fcntl
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from serving import ROOT, free_port, index_env, private_knowledge_and_index, run_index, running_server

from index.store import BUILDS, CURRENT, load_current
from index.verify import verify

pytestmark = pytest.mark.slow

RELOAD_SECONDS = 0.3  # how often each worker looks at `current`
ROUND_DOC = "test-fault-round"  # rewritten every round, so each build has passages to embed
ROUND_SECTIONS = 30  # one passage each
EMBED_BATCH = 6  # passages per batch in the killed builds: the progress bar moves in 20 % steps
FINAL_WORD = "vexmorilloma"  # invented: only the document of the last (unkilled) build mentions it
FINAL_DOC = f"test-{FINAL_WORD}"
POISON_WORD = "dravelquinoma"  # invented: only the valid new document beside the poisoned ones mentions it
POISON_DOC = f"test-{POISON_WORD}"
MIN_KILLS, MIN_EMBEDDING_KILLS, MIN_WRITING_KILLS = 10, 3, 3
MAX_ROUNDS, ROUNDS_SECONDS = 20, 200

# Phases of a build, in order, as seen from outside: its output, and the files under the index folder.
PHASES = ("starting", "embedding", "indexing", "writing", "syncing", "renamed", "published")
WRITING_PHASES = {"writing", "syncing", "renamed"}  # the new build's files exist; `current` not yet switched


# ----------------------------------------------------------------------------- helpers


def request(url: str, body: dict | None = None, timeout: float = 60) -> tuple[int, dict, str, str]:
    """(status, JSON body, X-Index-Build, error); status 0 when no HTTP response came back at all."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as response:
            return response.status, json.loads(response.read()), response.headers.get("X-Index-Build", ""), ""
    except urllib.error.HTTPError as error:
        return error.code, {}, error.headers.get("X-Index-Build", ""), error.read()[:300].decode(errors="replace")
    except Exception as error:  # refused, reset, timed out, cut short, not JSON: all failed requests
        return 0, {}, "", f"{type(error).__name__}: {error}"


@dataclass
class Response:
    kind: str  # "search" or "chat"
    status: int
    build: str
    doc_ids: list[str]  # search results, or the documents a chat reply cites
    error: str
    at: float  # time.monotonic() when it came back


class Traffic:
    """Client threads sending searches and chat turns for as long as the test runs (bounded), recording all."""

    def __init__(self, url: str, word: str, threads: int = 3, max_requests: int = 20_000,
                 max_seconds: float = 420, pause: float = 0.05):
        self.url, self.word, self.max_requests, self.max_seconds, self.pause = url, word, max_requests, max_seconds, pause
        self.seen: list[Response] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, number: int) -> None:
        deadline = time.monotonic() + self.max_seconds
        messages = [f"What is {self.word}?", "how is it treated?", "What is Merkel cell carcinoma?"]
        for count in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            if count % 3 == 2:
                status, body, build, error = request(f"{self.url}/api/chat", {
                    "session_id": f"faults-{number}-{count % 4}", "message": messages[(count // 3) % len(messages)]})
                doc_ids = [c["doc_id"] for m in body.get("messages", []) for c in m.get("citations", [])]
                self.seen.append(Response("chat", status, build, doc_ids, error, time.monotonic()))
            else:
                status, body, build, error = request(f"{self.url}/api/search?q={self.word}+inner+ear&k=3")
                doc_ids = [r["doc_id"] for r in body.get("results", [])]
                self.seen.append(Response("search", status, build, doc_ids, error, time.monotonic()))
            self._stop.wait(self.pause)

    def __enter__(self) -> "Traffic":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)
        assert not any(thread.is_alive() for thread in self._threads), "a client thread hung"

    def check(self, builds: set[str], new_build: str, new_doc: str) -> None:
        """Every request succeeded, named a published build, and came wholly from the build it names."""
        failed = [r for r in self.seen if r.status != 200]
        assert failed == [], f"{len(failed)} of {len(self.seen)} requests failed, e.g. {failed[:5]}"
        assert {r.build for r in self.seen} <= builds, ({r.build for r in self.seen}, builds)
        for r in self.seen:
            if r.kind == "search":  # the new document is found exactly when the new build answers
                assert (new_doc in r.doc_ids) == (r.build == new_build), r
            else:
                assert new_doc not in r.doc_ids or r.build == new_build, r


def readyz(url: str, expected: str | None = None, min_seconds: float = 0.0, max_seconds: float = 15.0) -> dict[int, str]:
    """Build served by each worker, polled until both answered, min_seconds passed and (given) all serve `expected`."""
    started = time.monotonic()
    workers: dict[int, str] = {}
    for _ in range(1000):
        status, body, header, error = request(f"{url}/readyz")
        assert status == 200, (status, error)
        assert header == body["index_build"], (header, body)
        workers[body["worker"]] = body["index_build"]
        elapsed = time.monotonic() - started
        if len(workers) >= 2 and elapsed >= min_seconds and (expected is None or set(workers.values()) == {expected}):
            break
        if elapsed > max_seconds:
            break
        time.sleep(0.03)
    return workers


def search_doc_ids(url: str, query: str) -> tuple[str, list[str]]:
    status, body, build, error = request(f"{url}/api/search?q={query}&k=5")
    assert status == 200, (status, error)
    return build, [r["doc_id"] for r in body["results"]]


def current_id(index_dir: Path) -> str:
    return os.path.basename(os.readlink(index_dir / CURRENT))


def build_env(documents: Path, index_dir: Path, **extra: str) -> dict[str, str]:
    return index_env(documents, index_dir, PYTHONUNBUFFERED="1", **extra)  # unbuffered: progress lines as they come


def tree_state(folder: Path) -> dict[str, Any]:
    """Every file's bytes and every symlink's target under a folder."""
    state: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        state[key] = (("link", os.readlink(path)) if path.is_symlink() else
                      ("file", path.read_bytes()) if path.is_file() else ("dir",))
    return state


def lock_is_free(index_dir: Path) -> bool:
    with (index_dir / ".build.lock").open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def document(doc_id: str, title: str, body: str) -> str:
    return (f"---\nid: {doc_id}\ntitle: {title}\npublisher: Test Publisher\nlanguage: en\nretrieved: 2026-11-22\n"
            f"licence: CC0\n---\n# {title}\n\n{body.strip()}\n")


def round_document(tag: str, sections: int = ROUND_SECTIONS) -> str:
    parts = [f"## Part {n} of round {tag}\n\n" + " ".join(
        f"Sentence {m} of part {n} in round {tag} describes the made-up fault tumour number {n * 7 + m} and its care."
        for m in range(6)) for n in range(sections)]
    return document(ROUND_DOC, "Fault Round", "\n\n".join(parts))


FINAL_DOCUMENT = document(FINAL_DOC, "Vexmorilloma", f"""
## What is {FINAL_WORD}

{FINAL_WORD.capitalize()} is an invented tumour used to test re-indexing after killed builds. It grows in the imaginary gland of the inner ear.
""")


@pytest.fixture
def live_copy(real_index_dir, tmp_path):
    return private_knowledge_and_index(real_index_dir, tmp_path)


# ----------------------------------------------------------------------------- killed builds


class BuildWatch:
    """One `python -m index build` subprocess and the phase it reached, judged from its output and the index folder."""

    def __init__(self, env: dict[str, str], index_dir: Path, log_path: Path):
        self.index_dir, self.log_path = index_dir, log_path
        self.current = os.readlink(index_dir / CURRENT)
        self.builds = {p.name for p in (index_dir / BUILDS).iterdir()}
        self.temporaries = {p.name for p in index_dir.glob(".tmp-*")}  # leftovers of earlier kills are not ours
        with log_path.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "index", "build"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def phase(self) -> str:
        if os.readlink(self.index_dir / CURRENT) != self.current:
            return "published"
        if {p.name for p in (self.index_dir / BUILDS).iterdir()} - self.builds:
            return "renamed"  # the finished build is in builds/, `current` not switched yet
        ours = [p for p in self.index_dir.glob(".tmp-*") if p.name not in self.temporaries]
        if any((p / "manifest.json").exists() for p in ours):
            return "syncing"  # every file and the manifest written; fsync, rename and publish follow
        if ours:
            return "writing"
        output = self.log()
        if "100%" in output:
            return "indexing"  # passages embedded; dense, BM25 and section indexes being built
        return "embedding" if "Embedding passages" in output else "starting"

    def embedded_percent(self) -> int:
        found = re.findall(r"(\d+)%\|", self.log())
        return int(found[-1]) if found else 0

    def wait_for(self, phase: str, timeout: float = 120) -> str:
        """Polls until the build reached `phase` (or a later one) or ended; returns the phase it is in."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            now = self.phase()
            if PHASES.index(now) >= PHASES.index(phase):
                return now
            time.sleep(0.001)
        return self.phase()

    def wait_for_progress(self, percent: int, timeout: float = 120) -> None:
        """Polls until the build has embedded `percent` % of its passages (or is past embedding, or ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            phase = self.phase()
            if PHASES.index(phase) > PHASES.index("embedding") or (
                    phase == "embedding" and self.embedded_percent() >= percent):
                return
            time.sleep(0.001)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def calibrate(env: dict[str, str], index_dir: Path, log_path: Path) -> dict[str, float]:
    """Runs one whole build and returns when (seconds after its start) it entered each phase."""
    watch = BuildWatch(env, index_dir, log_path)
    marks: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while watch.process.poll() is None and time.monotonic() < deadline:
        marks.setdefault(watch.phase(), time.monotonic() - watch.started)
        time.sleep(0.001)
    marks["exit"] = time.monotonic() - watch.started
    assert watch.process.wait(timeout=30) == 0, watch.log()[-3000:]
    assert "Published build" in watch.log(), watch.log()[-3000:]
    for phase in PHASES:  # a phase too short to be seen starts when the next one does
        if phase not in marks:
            marks[phase] = min(v for k, v in marks.items() if k == "exit" or PHASES.index(k) > PHASES.index(phase))
    return marks


def kill_plan(rng: random.Random) -> list[str]:
    """Where each round aims its kill: anywhere in the build, or at a random point of one phase."""
    targets = ["anywhere"] * 4 + ["embedding"] * 3 + ["writing"] * 3 + ["syncing"] * 2
    rng.shuffle(targets)
    return targets


def test_builds_killed_at_random_points_under_traffic_never_fail_a_request(live_copy, tmp_path):
    documents, index_dir = live_copy
    env = build_env(documents, index_dir, RCA_EMBED_BATCH_SIZE=str(EMBED_BATCH))
    rng = random.Random(20261201)
    started = time.monotonic()
    with running_server(index_dir, tmp_path, workers=2, RCA_KNOWLEDGE_DIR=str(documents),
                        RCA_RELOAD_CHECK_SECONDS=str(RELOAD_SECONDS)) as (url, _process), \
            Traffic(url, FINAL_WORD) as traffic:
        published = {current_id(index_dir)}
        workers = readyz(url)
        assert len(workers) == 2 and set(workers.values()) == published, workers
        time.sleep(1.0)

        # One whole build first: it publishes the round document and tells how long each phase takes.
        (documents / f"{ROUND_DOC}.md").write_text(round_document("0"), encoding="utf-8")
        marks = calibrate(env, index_dir, tmp_path / "build-0.log")
        expected = current_id(index_dir)
        published.add(expected)
        workers = readyz(url, expected)
        assert len(workers) == 2 and set(workers.values()) == {expected}, workers
        assert verify(documents, index_dir) == []  # the index now matches the knowledge folder exactly

        kills: list[dict[str, Any]] = []
        plan = kill_plan(rng)
        rounds_started = time.monotonic()
        for number in range(1, MAX_ROUNDS + 1):
            by_phase = [k["phase"] for k in kills]
            enough = (sum(k["returncode"] == -signal.SIGKILL for k in kills) >= MIN_KILLS
                      and by_phase.count("embedding") >= MIN_EMBEDDING_KILLS
                      and sum(p in WRITING_PHASES for p in by_phase) >= MIN_WRITING_KILLS)
            if (number > len(plan) and enough) or time.monotonic() - rounds_started > ROUNDS_SECONDS:
                break
            if number <= len(plan):
                target = plan[number - 1]
            else:  # make up for kills that landed elsewhere than aimed
                writing_short = sum(p in WRITING_PHASES for p in by_phase) < MIN_WRITING_KILLS
                target = "writing" if writing_short and by_phase.count("embedding") >= MIN_EMBEDDING_KILLS else "embedding"
            (documents / f"{ROUND_DOC}.md").write_text(round_document(str(number)), encoding="utf-8")
            watch = BuildWatch(env, index_dir, tmp_path / f"build-{number}.log")
            if target == "anywhere":  # anywhere from interpreter start to just before `current` switches
                delay = rng.uniform(0.05, 0.95) * marks["published"]
                time.sleep(max(0.0, delay - (time.monotonic() - watch.started)))
            elif target == "embedding":  # after 0-80 % of the passages, within the next batch
                percent = rng.choice(range(0, 100, 100 * EMBED_BATCH // ROUND_SECTIONS))
                delay = rng.uniform(0.0, 0.5) * (marks["indexing"] - marks["embedding"]) * EMBED_BATCH / ROUND_SECTIONS
                watch.wait_for_progress(percent)
                time.sleep(delay)
            else:  # "writing" (the files) or "syncing" (manifest written: fsync, rename, publish)
                delay = rng.uniform(0.0, 0.5) * (marks["published"] - marks[target])
                watch.wait_for(target)
                time.sleep(delay)
            at = time.monotonic() - watch.started
            watch.kill()
            returncode = watch.process.returncode
            phase = watch.phase() if returncode == -signal.SIGKILL else "finished"
            assert returncode in (-signal.SIGKILL, 0), f"round {number}: build failed:\n{watch.log()[-3000:]}"
            kills.append({"round": number, "target": target, "phase": phase, "at": round(at, 3),
                          "embedded": watch.embedded_percent(), "returncode": returncode})

            if phase in ("published", "finished"):  # killed too late: the new build is whole and current
                assert current_id(index_dir) != expected
                expected = current_id(index_dir)
                published.add(expected)
            assert current_id(index_dir) == expected, f"round {number} ({phase}): `current` moved"
            assert load_current(index_dir).build_id == expected  # checksums, counts: the build is whole
            problems = verify(documents, index_dir)
            if phase in ("published", "finished"):
                assert problems == []
            else:  # sound, and merely behind the one document this round changed
                assert len(problems) == 1 and f"'{ROUND_DOC}' changed since it was indexed" in problems[0], problems
            assert lock_is_free(index_dir), f"round {number}: the killed build's lock is still held"
            workers = readyz(url, expected, min_seconds=3 * RELOAD_SECONDS)
            assert len(workers) == 2 and set(workers.values()) == {expected}, (number, phase, workers, expected)
        rounds_seconds = time.monotonic() - rounds_started

        # The next, unkilled build succeeds despite the leftovers, and every worker switches to it.
        (documents / f"{FINAL_DOC}.md").write_text(FINAL_DOCUMENT, encoding="utf-8")
        final_started = time.monotonic()
        result = run_index(["build"], env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Published build" in result.stdout
        built_at = time.monotonic()
        final_build = current_id(index_dir)
        assert final_build != expected
        published.add(final_build)
        workers = readyz(url, final_build, max_seconds=15)
        switch_seconds = time.monotonic() - built_at
        assert len(workers) == 2 and set(workers.values()) == {final_build}, workers
        assert switch_seconds < 10
        build, doc_ids = search_doc_ids(url, FINAL_WORD)
        assert build == final_build and doc_ids[0] == FINAL_DOC, (build, doc_ids)
        verified = run_index(["verify"], env, timeout=120)
        assert verified.returncode == 0, verified.stderr
        assert not list(index_dir.glob(".tmp-*")), "the next build did not clean up the killed builds' folders"
        assert len(list((index_dir / BUILDS).iterdir())) <= 3  # current + keep_builds (2)
        time.sleep(1.0)

    by_phase = [k["phase"] for k in kills]
    killed = [k for k in kills if k["returncode"] == -signal.SIGKILL]
    summary = (f"{len(kills)} rounds, {len(killed)} builds killed; phases at the kill: "
               f"{ {p: by_phase.count(p) for p in (*PHASES, 'finished') if p in by_phase} }; "
               f"{len(traffic.seen)} requests ({sum(r.kind == 'chat' for r in traffic.seen)} chat), "
               f"{sum(r.status != 200 for r in traffic.seen)} failed; calibration {({k: round(v, 2) for k, v in marks.items()})}; "
               f"kill rounds {rounds_seconds:.0f} s, switch {switch_seconds:.1f} s, total {time.monotonic() - started:.0f} s")
    print(summary)
    for kill in kills:
        print("  ", kill)
    traffic.check(published, final_build, FINAL_DOC)
    during = [r for r in traffic.seen if rounds_started <= r.at <= final_started]
    assert len(during) >= 30 and {r.kind for r in during} == {"search", "chat"}, summary
    assert len(killed) >= MIN_KILLS, summary
    assert by_phase.count("embedding") >= MIN_EMBEDDING_KILLS, summary
    assert sum(p in WRITING_PHASES for p in by_phase) >= MIN_WRITING_KILLS, summary


# ----------------------------------------------------------------------------- concurrent builds


def test_a_second_concurrent_build_is_refused_and_the_first_completes(live_copy, tmp_path):
    documents, index_dir = live_copy
    # Enough passages, embedded one at a time, that the first build holds the lock for several seconds.
    (documents / f"{ROUND_DOC}.md").write_text(round_document("concurrent", sections=50), encoding="utf-8")
    env = build_env(documents, index_dir, RCA_EMBED_BATCH_SIZE="1")
    before = current_id(index_dir)
    first = BuildWatch(env, index_dir, tmp_path / "first.log")
    try:
        lock = index_dir / ".build.lock"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.process.poll() is None \
                and lock.read_text() != f"pid {first.process.pid}":
            time.sleep(0.01)
        assert lock.read_text() == f"pid {first.process.pid}", first.log()[-3000:]
        second = run_index(["build"], env, timeout=120)
        first_still_running = first.process.poll() is None
        assert first.process.wait(timeout=300) == 0, first.log()[-3000:]
    finally:
        first.kill()
    assert second.returncode == 1, (second.stdout, second.stderr)
    assert f"Another index build is running (pid {first.process.pid}). Wait for it to finish, then run it again." \
        in second.stderr, second.stderr
    assert "Published build" not in second.stdout
    assert first_still_running, "the first build ended before the second was refused; give it more work"
    assert "Published build" in first.log()
    after = current_id(index_dir)
    assert after != before and load_current(index_dir).build_id == after
    assert ROUND_DOC in load_current(index_dir).documents
    again = run_index(["build"], env)  # the lock went with the first build
    assert again.returncode == 0 and "Index already up to date" in again.stdout, again.stderr


# ----------------------------------------------------------------------------- truncated index at start

@pytest.mark.parametrize("name, cut", [
    ("vectors.npy", "half"), ("dense.faiss", "half"), ("passages.jsonl", "half"), ("documents.json", "half"),
    ("bm25/data.csc.index.npy", "half"), ("passages.jsonl", "last line"),
    ("vectors.npy", "empty"), ("section_vectors.npy", "empty"), ("passages.jsonl", "last byte"),
])
def test_a_truncated_index_file_is_refused_at_start_with_the_fix(real_index_dir, tmp_path, name, cut):
    index_dir = tmp_path / "index"
    shutil.copytree(real_index_dir, index_dir, symlinks=True)
    path = index_dir / CURRENT / name
    data = path.read_bytes()
    size = {"half": len(data) // 2, "empty": 0, "last byte": len(data) - 1,
            "last line": data.rstrip(b"\n").rfind(b"\n") + 1}[cut]
    with path.open("r+b") as handle:
        handle.truncate(size)
    env = dict(os.environ, RCA_INDEX_DIR=str(index_dir), RCA_DATABASE=str(tmp_path / "sessions.sqlite3"),
               RCA_REPORTS_DIR=str(tmp_path / "reports"))
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "server", "--port", str(free_port()), "--workers", "2"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the server started on an index with {name} truncated:\n{stderr[-3000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    seconds = time.monotonic() - started
    output = stdout + stderr
    assert process.returncode != 0, output[-3000:]
    assert "Listening at" not in output and "Booting worker" not in output, \
        f"gunicorn was started before the index was checked:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert re.search(r"(?m)^error: Index ", stderr), stderr[-3000:]  # one line naming the problem and the fix
    assert re.search(r"truncated|cannot be read|corrupt|inconsistent", stderr), stderr
    assert "Run `make index`" in stderr, stderr
    assert seconds < 20, f"took {seconds:.1f} s to refuse"


# ----------------------------------------------------------------------------- poisoned content

POISON_TEXT = f"""
## What is {POISON_WORD}

{POISON_WORD.capitalize()} is an invented tumour of the lagoon gland, used to test that poisoned content is never indexed.
"""
POISONS = {
    # an invalid id, and a required field missing
    "bad-poison.md": ("---\nid: Bad Poison!\ntitle: Poisoned Page\nlanguage: en\nretrieved: 2026-11-22\n"
                      f"licence: CC0\n---\n# Poisoned Page\n{POISON_TEXT}",
                      ["invalid id 'Bad Poison!'", "missing required field 'publisher'"]),
    # a valid page that steals the id of a shipped one
    "zz-duplicate.md": (document("nci-anal-cancer", "Anal Cancer", POISON_TEXT),
                        ["duplicate id 'nci-anal-cancer', also used by"]),
}


def test_poisoned_content_is_never_indexed_and_the_old_build_keeps_serving(live_copy, tmp_path):
    documents, index_dir = live_copy
    env = build_env(documents, index_dir)
    (documents / f"{POISON_DOC}.md").write_text(document(POISON_DOC, "Dravelquinoma", POISON_TEXT), encoding="utf-8")
    with running_server(index_dir, tmp_path, workers=2, RCA_KNOWLEDGE_DIR=str(documents),
                        RCA_RELOAD_CHECK_SECONDS=str(RELOAD_SECONDS)) as (url, _process), \
            Traffic(url, POISON_WORD, threads=2) as traffic:
        old_build = current_id(index_dir)
        for filename, (text, problems) in POISONS.items():
            poisoned = documents / filename
            poisoned.write_text(text, encoding="utf-8")
            before = tree_state(index_dir)
            result = run_index(["build"], env, timeout=120)
            assert result.returncode == 1, (result.stdout, result.stderr)
            lines = [line for line in result.stderr.splitlines() if line.startswith(f"{poisoned}:")]
            assert len(lines) == len(problems), result.stderr
            for problem in problems:  # each as `file:line: problem. Fix: ...`
                pattern = rf"{re.escape(str(poisoned))}:\d+: {re.escape(problem)}.*\. Fix: .+"
                assert any(re.fullmatch(pattern, line) for line in lines), (problem, lines)
            assert f"{POISON_DOC}.md" not in result.stderr  # the valid new document is not blamed
            assert (f"{len(problems)} problem(s) found; nothing was indexed and the current index is unchanged."
                    in result.stderr)
            assert "Published build" not in result.stdout
            assert tree_state(index_dir) == before, "a refused build changed the index folder"
            workers = readyz(url, old_build, min_seconds=3 * RELOAD_SECONDS)
            assert len(workers) == 2 and set(workers.values()) == {old_build}, workers
            build, doc_ids = search_doc_ids(url, POISON_WORD)
            assert build == old_build and POISON_DOC not in doc_ids, (build, doc_ids)
            assert request(f"{url}/api/documents/{POISON_DOC}")[0] == 404
            poisoned.unlink()

        # Without the poison the same knowledge builds, and the new document is found: the checks above could fail.
        result = run_index(["build"], env)
        assert result.returncode == 0, result.stderr[-3000:]
        new_build = current_id(index_dir)
        assert new_build != old_build
        workers = readyz(url, new_build, max_seconds=15)
        assert len(workers) == 2 and set(workers.values()) == {new_build}, workers
        build, doc_ids = search_doc_ids(url, POISON_WORD)
        assert build == new_build and doc_ids[0] == POISON_DOC, (build, doc_ids)
        assert "nci-anal-cancer" in load_current(index_dir).documents
        assert POISON_WORD not in load_current(index_dir).documents["nci-anal-cancer"]["text"].lower()
        time.sleep(0.5)
    traffic.check({old_build, new_build}, new_build, POISON_DOC)
    assert len(traffic.seen) >= 20
    print(f"poisoned content: {len(traffic.seen)} requests, 0 failed; build {old_build} kept serving until {new_build}")
