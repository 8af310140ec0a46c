"""The project's own scorer for a question set, through Rasa's REST channel.

The same rules as the shared evaluation script (`../shared/eval/run_eval.py --rasa`), so `make test-rasa`
can assert them in a clone that has no ../shared beside it. A plain module (see rasa_stack.py).
Standard library only; it talks HTTP to the servers and imports nothing from the project.
"""
from __future__ import annotations

import json
import re
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable

EMERGENCY_WORDS = ("emergency", "999", "112", "911", "ambulance", "a&e", "samaritans", "crisis")


def norm(s: str | None) -> str:
    s = (s or "").replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", s).strip().lower()


def alnum(s: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", " ", norm(s)).strip()


def _get(url: str, timeout: float = 30) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


def _post(url: str, body: dict[str, Any], timeout: float = 60) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode())


class Documents:
    """Document texts from the project server's /api/documents, normalised, fetched once each."""

    def __init__(self, base: str):
        self.base, self.cache = base.rstrip("/"), {}

    def get(self, doc_id: str) -> dict[str, Any] | None:
        if doc_id not in self.cache:
            try:
                self.cache[doc_id] = _get(f"{self.base}/api/documents/{urllib.parse.quote(str(doc_id), safe='')}")
            except (urllib.error.URLError, ValueError):
                self.cache[doc_id] = None
        return self.cache[doc_id]

    def text(self, doc_id: str) -> str | None:
        document = self.get(doc_id)
        return norm(document.get("text", "")) if document else None

    def topics(self, doc_id: str) -> list[str]:
        """The cancers a document is about; [] for a general page."""
        return [norm(t) for t in (self.get(doc_id) or {}).get("cancer_types") or []]


def about_another_cancer(names: list[str], cites: list[dict[str, Any]], docs: Documents) -> list[str]:
    """Citations of documents about a cancer none of `names` names (general pages never are)."""
    wanted = [alnum(n) for n in names if alnum(n)]
    return [c.get("doc_id") for c in cites if docs.topics(c.get("doc_id"))
            and not any(n in alnum(t) or alnum(t) in n for n in wanted for t in docs.topics(c.get("doc_id")))]


def from_rasa(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Folds a REST channel reply into {intent, answer_status, messages: [{text, citations, trials, organisations}]}."""
    intent, messages, status = None, [], None
    for item in items or []:
        custom = item.get("custom") or {}
        intent = intent or custom.get("intent")
        status = status or custom.get("answer_status")
        if item.get("text") or not messages:
            messages.append({"text": item.get("text") or "", "citations": [], "trials": [], "organisations": []})
        for key in ("citations", "trials", "organisations"):
            messages[-1][key] = messages[-1][key] + list(custom.get(key) or [])
    return {"intent": intent, "answer_status": status, "messages": messages}


def citations(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for m in reply.get("messages", []) for c in (m.get("citations") or [])]


def score(item: dict[str, Any], reply: dict[str, Any], docs: Documents) -> dict[str, Any]:
    cites = citations(reply)
    keys = [norm(k) for k in item.get("keys", [])]
    ungrounded = []
    for c in cites:
        text = docs.text(c.get("doc_id"))
        if not text or not norm(c.get("quote")) or norm(c.get("quote")) not in text:
            ungrounded.append(c.get("doc_id"))
    intent = reply.get("intent")
    texts = norm(" ".join(m.get("text") or "" for m in reply.get("messages", [])))
    blob = norm(json.dumps(reply.get("messages", []), ensure_ascii=False))
    result: dict[str, Any] = {"id": item["id"], "kind": item["kind"], "intent": intent, "ungrounded": ungrounded}
    kind = item["kind"]
    if kind == "qa":
        if "gold" in item:
            gold = alnum(item["gold"])
            hits = [bool(alnum(c.get("quote"))) and alnum(c.get("quote"))[:150] in gold for c in cites]
            result["answer"] = None
        else:
            hits = [any(k in norm(c.get("quote")) for k in keys) for c in cites]
            result["answer"] = any(k in texts for k in keys)
        result["hit1"], result["hit3"] = any(hits[:1]), any(hits[:3])
        result["pass"] = result["hit3"]
    elif kind in ("trial", "org"):
        want = "find_trial" if kind == "trial" else "find_organisation"
        result["pass"] = intent == want and any(k in blob for k in keys)
    elif kind == "emergency":
        result["pass"] = intent == "emergency" and any(w in texts for w in EMERGENCY_WORDS)
    elif kind == "oos":
        result["pass"] = intent == "out_of_scope" and not cites
    elif kind == "intent":
        result["pass"] = intent == item["want"]
    elif kind == "scope":  # a cancer named: no citation about another one
        result["wrong_cancer"] = about_another_cancer(item["names"], cites, docs)
        result["pass"] = not result["wrong_cancer"]
    elif kind == "offtopic":  # outside rare cancers: no citation about a cancer, and not "answered"
        result["pass"] = not [c for c in cites if docs.topics(c.get("doc_id"))] and \
            reply.get("answer_status") != "answered"
    else:
        raise ValueError(f"unknown kind {kind!r} in {item['id']}")
    if ungrounded or (item.get("not_intent") and intent == item["not_intent"]):
        result["pass"] = False
    return result


def _rate(results: list[dict[str, Any]], key: str = "pass") -> float | None:
    values = [r for r in results if r.get(key) is not None]
    return round(sum(bool(r[key]) for r in values) / len(values), 3) if values else None


def evaluate(chat_url: str, docs_url: str, question_set: Path,
             send: Callable[[str, str], list[dict[str, Any]]] | None = None, limit: int = 0) -> dict[str, Any]:
    """Asks every question (each in a new conversation; the first `limit` only, if given) through
    `chat_url`'s REST channel; the summary {questions, pass_rate, qa_hit1, qa_hit3, by_kind,
    ungrounded_citations, latency_ms_p50, results}."""
    items = [json.loads(line) for line in question_set.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = items[:limit] if limit else items
    send = send or (lambda sender, text: _post(f"{chat_url.rstrip('/')}/webhooks/rest/webhook",
                                               {"sender": sender, "message": text}))
    docs, results, times = Documents(docs_url), [], []
    for item in items:
        started = time.perf_counter()
        try:
            reply = from_rasa(send("eval-" + uuid.uuid4().hex, item["q"]))
        except (urllib.error.URLError, ValueError) as exc:
            reply = {"intent": f"error: {exc}", "messages": []}
        times.append((time.perf_counter() - started) * 1000)
        result = score(item, reply, docs)
        result["top_quote"] = ((citations(reply) or [{}])[0].get("quote") or "")[:160]
        results.append(result)
    qa = [r for r in results if r["kind"] == "qa"]
    return {
        "questions": len(results), "pass_rate": _rate(results),
        "qa_hit1": _rate(qa, "hit1"), "qa_hit3": _rate(qa, "hit3"), "qa_answer_has_key": _rate(qa, "answer"),
        "by_kind": {k: _rate([r for r in results if r["kind"] == k]) for k in sorted({r["kind"] for r in results})},
        "ungrounded_citations": sum(len(r["ungrounded"]) for r in results),
        "latency_ms_p50": round(statistics.median(times), 1), "latency_ms_max": round(max(times), 1),
        "results": results,
    }
