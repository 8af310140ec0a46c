"""One table of settings: name, default and help, each overridable by an environment variable.

Every layer reads its settings from here, so the README table can be checked against this list
(tests/test_settings_documented.py fails when a setting is missing from the README).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    env_name: str = ""  # a conventional variable name (REDIS_URL) instead of RCA_<NAME>

    @property
    def env(self) -> str:
        return self.env_name or "RCA_" + self.name.upper()


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


SETTINGS: list[Setting] = [
    Setting("knowledge_dir", "knowledge/documents", "Folder of curated Markdown documents to index.", _path),
    Setting("cancer_vocabulary", "knowledge/cancers.yml", "The cancer vocabulary: names the assistant recognises, and the `cancer_types` documents may use.", _path),
    Setting("index_dir", "var/index", "Where built indexes live; `current` points at the one in use.", _path),
    Setting("model_path", "", "Sentence-transformers model folder. Empty: the packaged all-MiniLM-L6-v2.", str),
    Setting("chunk_max_chars", 900, "Passages grow sentence by sentence up to about this many characters.", int),
    Setting("chunk_hard_max_chars", 1800, "A list is kept with its introducing sentence up to this size.", int),
    Setting("exact_index_max", 50_000, "Up to this many passages, dense search is exact; above, HNSW.", int),
    Setting("dense_weight", 0.6, "Hybrid score weight of query-passage embedding similarity.", float),
    Setting("section_weight", 0.5, "Hybrid score weight of section heading similarity, relative within a document.", float),
    Setting("scoped_section_weight", 2.0, "Section weight when a search is limited to a few documents (one cancer's pages): among them, the section on what is asked decides (calibrated in docs/benchmarks.md).", float),
    Setting("lexical_weight", 0.2, "Hybrid score weight of BM25 (divided by the best BM25 score).", float),
    Setting("section_candidates", 3, "Best-matching sections whose passages all join the candidates.", int),
    Setting("candidates", 50, "Passages each retriever proposes before fusion.", int),
    Setting("search_k", 5, "Results returned by search when no k is given.", int),
    Setting("embed_batch_size", 64, "Passages embedded per batch while building.", int),
    Setting("torch_threads", 0, "CPU threads for the model; 0 lets the runtime decide (`python -m server` then gives each worker its share of the cores).", int),
    Setting("query_cache_size", 1024, "Query embeddings kept in memory per process (LRU); 0 turns the cache off.", int),
    Setting("embedding_runtime", "onnx", "`onnx` (an ONNX Runtime export of the same weights, checked against torch) or `torch`.", str),
    Setting("keep_builds", 2, "Older index builds kept beside the current one, for running readers.", int),
    Setting("trials_dir", "", "Folder of trial records (YAML). Empty: `trials/` beside the knowledge folder.", str),
    Setting("trial_store", "var/trials.sqlite3", "The trial store (SQLite): registry studies from `python -m knowledge sync-trials` or `import-trials --store`, and the curated trial records each index build publishes into it.", _path),
    Setting("trial_stale_days", 7.0, "A trial store not synced with the registry for this many days says so on every trial card.", float),
    Setting("organisations_dir", "", "Folder of organisation records. Empty: `organisations/` beside it.", str),
    Setting("cache_dir", "var/cache", "Derived data kept between runs, e.g. intent example vectors.", _path),
    Setting("reports_dir", "var/reports", "Where unanswered questions and feedback are logged, redacted.", _path),
    Setting("answer_threshold", 0.35, "Below this retrieval confidence the assistant says it is not sure.", float),
    Setting("domain_threshold", 0.5, "A message that names no cancer and no word of cancer care is a question only if retrieval matches it this well; else it is out of scope (calibrated by bench/scope_gate.py).", float),
    Setting("intent_threshold", 0.45, "Below this similarity to any intent example, the intent is unknown.", float),
    Setting("message_max_chars", 1000, "Longest message accepted from a user.", int),
    Setting("host", "127.0.0.1", "Address `python -m server` listens on.", str),
    Setting("port", 5005, "Port `python -m server` listens on.", int),
    Setting("workers", 2, "gunicorn worker processes; each loads the model and index once.", int),
    Setting("database", "var/sessions.sqlite3", "SQLite file for conversation state, shared by the workers.", _path),
    Setting("session_retention_days", 30.0, "Conversations not touched for this many days are deleted.", float),
    Setting("max_body_bytes", 16384, "Largest HTTP request body accepted (413 above).", int),
    Setting("reload_check_seconds", 2.0, "How often a worker checks for a newly published index.", float),
    Setting("cors_origins", "", "Comma-separated origins (scheme://host[:port]) of pages allowed to embed the widget.", str),
    Setting("rate_limit_per_minute", 30, "Chat, search and feedback requests one client may make per minute; 0 turns the limit off.", int),
    Setting("rate_limit_exempt", "127.0.0.1,::1", "Comma-separated client addresses never rate limited (this machine's own health checks, evaluations and benchmarks), or `none`. A request that came through a proxy is always limited.", str),
    Setting("trusted_proxies", 0, "Reverse proxies in front of the server whose X-Forwarded-For is trusted.", int),
    Setting("redis_url", "", "Redis URL (redis://host:port/db) for conversations and rate limits across machines. Empty: SQLite.", str, env_name="REDIS_URL"),
]

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str, overrides: dict[str, Any] | None = None) -> Any:
    """The value of a setting: an explicit override, else its environment variable, else its default."""
    setting = _BY_NAME[name]
    if overrides and name in overrides:
        return overrides[name]
    raw = os.environ.get(setting.env)
    if raw is None or raw == "":
        raw = setting.default
    if isinstance(raw, str):
        try:
            return setting.parse(raw)
        except ValueError as exc:
            raise SystemExit(f"Setting {setting.env}={raw!r} is invalid: {exc}. Fix or unset it.") from exc
    return setting.parse(str(raw)) if setting.parse is _path else raw


def records_dir(kind: str, overrides: dict[str, Any] | None = None) -> Path:
    """The folder of trial or organisation records: its setting, else `<kind>/` beside the documents."""
    if kind not in ("trials", "organisations"):
        raise ValueError(f"kind must be 'trials' or 'organisations', got {kind!r}")
    configured = get(f"{kind}_dir", overrides)
    return _path(configured) if configured else get("knowledge_dir", overrides).parent / kind


def positive_int(value: str) -> int:
    """An argparse type for counts: a whole number of at least 1, with a clear message otherwise."""
    import argparse

    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def describe() -> list[dict[str, Any]]:
    return [{"name": s.name, "env": s.env, "default": s.default, "help": s.help} for s in SETTINGS]
