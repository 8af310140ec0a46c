"""Live re-index: `make index` while gunicorn serves traffic. No request fails, none mixes two builds,
and every worker serves the new build within seconds, without a restart."""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest
from serving import index_env, private_knowledge_and_index, run_index, running_server

pytestmark = pytest.mark.slow

NEW_WORD = "quillotrichoma"  # an invented disease name: only the new document mentions it
NEW_DOCUMENT = f"""---
id: test-{NEW_WORD}
title: Quillotrichoma
publisher: Test Publisher
language: en
retrieved: 2026-11-22
licence: CC0
---
# Quillotrichoma

## What is {NEW_WORD}

{NEW_WORD.capitalize()} is an invented tumour used to test live re-indexing. It grows in the imaginary gland of the inner ear.
"""


def get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read()), response.headers.get("X-Index-Build", "")
    except urllib.error.HTTPError as error:
        return error.code, {}, error.headers.get("X-Index-Build", "")


@pytest.fixture
def live_copy(real_index_dir, tmp_path):
    return private_knowledge_and_index(real_index_dir, tmp_path)


def test_reindex_under_traffic_switches_every_worker_without_a_failed_or_mixed_request(live_copy, tmp_path):
    documents, index_dir = live_copy
    env = dict(RCA_KNOWLEDGE_DIR=str(documents), RCA_RELOAD_CHECK_SECONDS="0.5")
    with running_server(index_dir, tmp_path, workers=2, **env) as (url, _process):
        old_build = get(f"{url}/readyz")[1]["index_build"]
        seen: list[tuple[int, str, list[str]]] = []
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                status, body, build = get(f"{url}/api/search?q={NEW_WORD}+inner+ear&k=3")
                seen.append((status, build, [r["doc_id"] for r in body.get("results", [])]))

        clients = [threading.Thread(target=traffic) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(1.0)
        (documents / f"{NEW_WORD}.md").write_text(NEW_DOCUMENT, encoding="utf-8")
        result = run_index(["build"], index_env(documents, index_dir))
        assert result.returncode == 0, result.stderr
        built_at = time.monotonic()
        new_build = os.path.basename(os.readlink(index_dir / "current"))
        workers: dict[int, str] = {}
        while time.monotonic() - built_at < 15 and (len(workers) < 2 or set(workers.values()) != {new_build}):
            ready = get(f"{url}/readyz")[1]
            workers[ready["worker"]] = ready["index_build"]
        switch_seconds = time.monotonic() - built_at
        time.sleep(1.0)
        stop.set()
        for client in clients:
            client.join()

    assert len(workers) == 2 and set(workers.values()) == {new_build}, workers
    assert switch_seconds < 10
    assert [s for s in seen if s[0] != 200] == []
    assert {build for _, build, _ in seen} == {old_build, new_build}
    for _, build, doc_ids in seen:  # each response comes wholly from the build it names
        assert (f"test-{NEW_WORD}" in doc_ids) == (build == new_build), (build, doc_ids)
    print(f"{len(seen)} requests, 0 failed; every worker switched {switch_seconds:.1f} s after the build")
