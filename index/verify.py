"""`python -m index verify`: is the current index whole, and in step with `knowledge/`?"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from knowledge.document_format import load_documents
from index.store import IndexError_, load_current


def verify(knowledge_dir: Path, index_dir: Path, expected: dict[str, Any] | None = None) -> list[str]:
    """Problems found, each naming its fix; an empty list means the index is sound and up to date.

    `expected` (model, chunker, tokenizer) makes it also check the index suits the current configuration.
    """
    try:
        snapshot = load_current(index_dir, expected)  # checks manifest, checksums, counts, configuration
    except IndexError_ as exc:
        return [str(exc)]
    problems: list[str] = []
    documents = load_documents(knowledge_dir)
    problems.extend(f"{error} (then run `make index`)" for error in documents.errors)
    indexed = snapshot.manifest["documents"]
    for doc_id, document in documents.by_id.items():
        if doc_id not in indexed:
            problems.append(f"{document.path}: '{doc_id}' is not in the index. Run `make index`.")
        elif indexed[doc_id]["sha256"] != document.content_hash:
            problems.append(f"{document.path}: '{doc_id}' changed since it was indexed. Run `make index`.")
    for doc_id in sorted(set(indexed) - set(documents.by_id)):
        if not documents.errors:
            problems.append(f"'{doc_id}' is in the index but no longer in {knowledge_dir}. Run `make index`.")
    for passage in snapshot.passages:
        text = snapshot.documents.get(passage.doc_id, {}).get("text")
        if text is None or text[passage.start:passage.end] != passage.quote:
            problems.append(f"Passage {passage.passage_id} does not quote its document at {passage.start}-{passage.end}. "
                            "Run `make index` with --force.")
    return problems
