"""Helpers shared by the tests of the `index` layer (imported by conftest.py and the test modules).

A plain module rather than conftest imports, because tests/ folders have no __init__.py.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works without pytest.ini's `pythonpath = .`
    sys.path.insert(0, str(REPO_ROOT))

from index.build import IndexBuilder  # noqa: E402
from index.chunker import Chunker  # noqa: E402
from knowledge.document_format import Document  # noqa: E402

DEFAULT_FRONT = {
    "publisher": "Test Publisher",
    "language": "en",
    "licence": "CC BY 4.0",
    "last_reviewed": "2024-05-31",
}


def front_matter(doc_id: str, title: str, **fields: Any) -> str:
    values = dict(DEFAULT_FRONT, id=doc_id, title=title)
    values.update(fields)
    lines = [f"{key}: {value}" for key, value in values.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\n"


def write_doc(folder: Path, doc_id: str, title: str, body: str, filename: str | None = None,
              **fields: Any) -> Path:
    """Writes a valid curated document (front matter + `# title` + body) and returns its path."""
    path = folder / (filename or f"{doc_id}.md")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(front_matter(doc_id, title, **fields) + f"# {title}\n\n{body.strip()}\n", encoding="utf-8")
    return path


def make_document(text: str, doc_id: str = "doc", title: str = "Doc Title") -> Document:
    return Document(doc_id=doc_id, title=title, publisher="P", language="en", licence="L", text=text,
                    content_hash="0" * 64)


# A tiny corpus with a clear right answer for each test question.
CORPUS: dict[str, tuple[str, str]] = {
    "soft-tissue-sarcoma": ("Soft Tissue Sarcoma", """
## What is soft tissue sarcoma

Soft tissue sarcoma is a rare cancer that forms in muscle, fat, nerves and blood vessels. It can start anywhere in the body, most often in the arms and legs.

## Treatment of soft tissue sarcoma

Surgery to remove the tumour is the main treatment for sarcoma. Radiotherapy may be given before or after the operation, e.g. when the tumour is large. Chemotherapy is sometimes used when the cancer has spread.

## Symptoms

A painless lump that grows over weeks or months is the most common sign. Pain appears when the lump presses on nerves or muscles.
"""),
    "uterine-sarcoma": ("Uterine Sarcoma", """
## Signs of uterine sarcoma

Abnormal vaginal bleeding after menopause is a sign of uterine sarcoma. A mass in the vagina, pain in the abdomen and frequent urination can also occur.

## Risk factors

Past radiation therapy to the pelvis raises the risk of uterine sarcoma. Taking tamoxifen for breast cancer also raises the risk.
"""),
    "irci": ("International Rare Cancers Initiative", """
## About the initiative

The International Rare Cancers Initiative is a partnership of research organisations that designs clinical trials for rare cancers across several countries. They are focusing on certain types of cancer including:

- anal cancer that has come back or spread
- melanoma of the eye
- penile cancer
- thymoma

## How to take part

Patients can ask their doctor about joining one of these trials. The trial teams publish contact details on their website.
"""),
    "merkel-cell-carcinoma": ("Merkel Cell Carcinoma", """
## Diagnosis

A biopsy removes a small piece of skin so that a pathologist can check it under a microscope. Dr. Smith notes that results take about 2.5 days.

## Stages

Merkel cell carcinoma is staged from I to IV. Stage IV means the cancer has spread to distant organs such as the liver, lungs or bones.
"""),
}


def write_corpus(folder: Path, corpus: dict[str, tuple[str, str]] = CORPUS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, (title, body) in corpus.items():
        write_doc(folder, doc_id, title, body, url=f"https://example.org/{doc_id}")
    return folder


class SpyEmbedder:
    """Wraps the real embedder and records every text it is asked to embed."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, texts: list[str], batch_size: int = 64, progress: Callable[[int], None] | None = None):
        self.texts.extend(texts)
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def make_builder(knowledge: Path, index_dir: Path, embedder: Any, chunker: Chunker | None = None,
                 **kwargs: Any) -> IndexBuilder:
    return IndexBuilder(knowledge, index_dir, embedder, chunker or Chunker(), progress=None, **kwargs)


def tree_state(folder: Path) -> dict[str, Any]:
    """Every file's bytes and every symlink's target under a folder: a byte-for-byte picture."""
    state: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if path.is_symlink():
            state[key] = ("link", os.readlink(path))
        elif path.is_file():
            state[key] = ("file", path.read_bytes())
        else:
            state[key] = ("dir",)
    return state


def copy_index(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def cli_env(knowledge: Path, index_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCA_")}
    env.update(RCA_KNOWLEDGE_DIR=str(knowledge), RCA_INDEX_DIR=str(index_dir), PYTHONUNBUFFERED="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.update(extra)
    return env


def run_cli(args: list[str], knowledge: Path, index_dir: Path, stdin: str | None = None,
            timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=REPO_ROOT, env=cli_env(knowledge, index_dir, **extra),
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, timeout: float = 120) -> bool:
    """Polls until condition() holds; False if the process ended or time ran out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.005)
    return False


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


