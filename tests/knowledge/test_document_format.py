"""knowledge.document_format: every validation error names the file, the line, the problem and the fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.document_format import currency, load_documents, parse_document

GOOD_FRONT = """---
id: rare-doc
title: A Rare Cancer
publisher: Test Publisher
language: en
licence: CC BY 4.0
last_reviewed: 2024-05-31
---
"""
BODY = "# A Rare Cancer\n\n## About\n\nSome text about the cancer.\n"


def parse(raw: str | bytes, name: str = "docs/rare-doc.md"):
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return parse_document(Path(name), data)


def only_error(raw: str | bytes, name: str = "docs/rare-doc.md"):
    document, errors = parse(raw, name)
    assert document is None
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def assert_error(error, line: int, problem: str, path: str = "docs/rare-doc.md") -> None:
    text = str(error)
    assert text.startswith(f"{path}:{line}: "), text
    assert problem in text, text
    assert "Fix: " in text, text
    assert error.line == line


def with_front(replace: dict[str, str | None] | None = None, add: str = "", body: str = BODY) -> str:
    """GOOD_FRONT with some fields replaced (None: removed) and extra lines before the closing fence."""
    lines = GOOD_FRONT.strip("\n").split("\n")[1:-1]
    out = []
    for line in lines:
        key = line.split(":", 1)[0]
        if replace and key in replace:
            if replace[key] is not None:
                out.append(f"{key}: {replace[key]}")
        else:
            out.append(line)
    return "---\n" + "\n".join(out) + ("\n" + add.strip("\n") if add else "") + "\n---\n" + body


def test_a_valid_document_parses():
    document, errors = parse(GOOD_FRONT + BODY)
    assert errors == []
    assert document.doc_id == "rare-doc" and document.title == "A Rare Cancer"
    assert document.last_reviewed == "2024-05-31"
    assert document.text == BODY  # the body after the front matter, which passage offsets index
    assert document.body_line == 9 and document.id_line == 2
    assert len(document.content_hash) == 64
    assert "text" not in document.metadata()


def test_missing_front_matter():
    assert_error(only_error(BODY), 1, "missing front matter")


def test_unclosed_front_matter():
    assert_error(only_error("---\nid: rare-doc\ntitle: A Rare Cancer\n\n# A Rare Cancer\n\nText.\n"), 1,
                 "front matter is not closed")


def test_invalid_yaml_points_at_the_bad_line():
    raw = with_front({"title": "Rare cancers: an overview"})
    assert_error(only_error(raw), 3, "invalid front matter")


def test_invalid_yaml_further_down():
    raw = with_front(add="attribution: \"unclosed quote\nsource: x")
    error = only_error(raw)
    assert "invalid front matter" in str(error) and error.line >= 8
    assert str(error).startswith(f"docs/rare-doc.md:{error.line}: ") and "Fix: " in str(error)


def test_front_matter_that_is_not_a_mapping():
    assert_error(only_error("---\n- id\n- title\n---\n" + BODY), 2, "expected 'name: value' fields")


def test_unknown_field_points_at_its_line():
    raw = with_front(add="author: Someone")
    assert_error(only_error(raw), 8, "unknown field 'author'")
    assert "last_reviewed" in str(only_error(raw))  # the fix lists the allowed fields


@pytest.mark.parametrize("field", ["id", "title", "publisher", "language", "licence"])
def test_missing_required_field(field):
    assert_error(only_error(with_front({field: None})), 1, f"missing required field '{field}'")


def test_empty_required_field_points_at_its_line():
    assert_error(only_error(with_front({"publisher": '""'})), 4, "missing required field 'publisher'")


def test_several_problems_are_all_reported():
    document, errors = parse(with_front({"publisher": None, "language": "English"}, add="author: x"))
    assert document is None
    assert len(errors) == 3
    assert {e.problem.split(" '")[0] for e in errors} == {"unknown field", "missing required field", "invalid language"}


def test_missing_date():
    error = only_error(with_front({"last_reviewed": None}))
    assert_error(error, 1, "missing date")
    for name in ("last_reviewed", "retrieved", "last_updated", "date_note"):  # the fix names every way to date it
        assert name in error.fix


def test_a_blank_date_note_is_no_date():
    assert_error(only_error(with_front({"last_reviewed": None}, add='date_note: "  "')), 1, "missing date")


def test_retrieved_is_an_accepted_date():
    document, errors = parse(with_front({"last_reviewed": None}, add="retrieved: 2023-10-17"))
    assert errors == [] and document.retrieved == "2023-10-17" and document.last_reviewed == ""


NOTE = "Text collected for the MedQuAD dataset (2019); it may be out of date. Check the publisher's current page."


def test_a_date_note_alone_dates_a_document():
    document, errors = parse(with_front({"last_reviewed": None}, add=f'date_note: "{NOTE}"'))
    assert errors == []
    assert (document.date_note, document.last_reviewed, document.retrieved, document.last_updated) == (NOTE, "", "", "")
    assert document.metadata()["date_note"] == NOTE


def test_each_date_is_kept_under_its_own_name():
    document, errors = parse(with_front(add=f"retrieved: 2026-08-11\nlast_updated: 2017-12-11\ndate_note: {NOTE}"))
    assert errors == []
    assert currency(document.metadata()) == {"last_reviewed": "2024-05-31", "last_updated": "2017-12-11",
                                             "retrieved": "2026-08-11", "date_note": NOTE}
    assert currency({}) == {"last_reviewed": "", "last_updated": "", "retrieved": "", "date_note": ""}


def test_a_registry_update_dates_a_document():
    document, errors = parse(with_front({"last_reviewed": None}, add="last_updated: 2017-12-11"))
    assert errors == [] and document.last_updated == "2017-12-11" and document.last_reviewed == ""


def test_bad_last_updated_points_at_its_line():
    assert_error(only_error(with_front(add="last_updated: December 11, 2017")), 8, "field 'last_updated' is not a date")


def test_a_date_note_must_be_short_text():
    assert_error(only_error(with_front(add="date_note: " + "It may be out of date. " * 20)), 8,
                 "field 'date_note' is longer than")
    assert_error(only_error(with_front(add="date_note: 2019")), 8, "field 'date_note' must be text")


@pytest.mark.parametrize("value", ["31/05/2024", "yesterday", "2024"])
def test_bad_date_points_at_its_line(value):
    assert_error(only_error(with_front({"last_reviewed": value})), 7, "field 'last_reviewed' is not a date")


@pytest.mark.parametrize("value", ["2024-13-45", "2024-02-30"])
def test_impossible_date_is_reported_not_raised(value):
    assert_error(only_error(with_front({"last_reviewed": value})), 7, "field 'last_reviewed' is not a date")


@pytest.mark.parametrize("value", ["Rare-Doc", "rare_doc", "rare--doc", "-rare", "rare doc", "rare-doc\n"])
def test_invalid_id_points_at_its_line(value):
    quoted = value.replace("\n", "\\n")  # YAML's double-quoted escape for a trailing newline
    assert_error(only_error(with_front({"id": f'"{quoted}"'})), 2, f"invalid id {value!r}")


def test_id_that_is_not_text():
    assert_error(only_error(with_front({"id": "123"})), 2, "field 'id' must be text")


@pytest.mark.parametrize("value", ["www.example.org/page", "ftp://example.org", "https://example.org/a page"])
def test_invalid_url_points_at_its_line(value):
    assert_error(only_error(with_front(add=f'url: "{value}"')), 8, "invalid url")


def test_valid_url_is_kept():
    document, errors = parse(with_front(add="url: https://www.cancer.gov/types/penile"))
    assert errors == [] and document.url == "https://www.cancer.gov/types/penile"


@pytest.mark.parametrize("value", ["English", "EN", "e", "en_GB"])
def test_invalid_language_points_at_its_line(value):
    assert_error(only_error(with_front({"language": value})), 5, f"invalid language '{value}'")


@pytest.mark.parametrize("value", ["en", "en-GB", "fra"])
def test_valid_languages(value):
    assert parse(with_front({"language": value}))[1] == []


@pytest.mark.parametrize("body", ["", "\n\n  \n", "# A Rare Cancer\n\n## About\n\n### More\n"])
def test_empty_text_including_only_headings(body):
    assert_error(only_error(GOOD_FRONT + body), 9, "empty text")


def test_not_utf8_points_at_the_line_of_the_bad_byte():
    raw = (GOOD_FRONT + "# A Rare Cancer\n\nFine line.\nCaf").encode("utf-8") + b"\xe9 au lait.\n"
    error = only_error(raw)
    assert_error(error, 12, "not UTF-8")
    assert "0xe9" in str(error)


def test_crlf_line_endings_are_accepted():
    raw = (GOOD_FRONT + BODY).replace("\n", "\r\n")
    document, errors = parse(raw)
    assert errors == []
    assert document.text == BODY and "\r" not in document.text


def test_byte_order_mark_is_accepted():
    document, errors = parse(b"\xef\xbb\xbf" + (GOOD_FRONT + BODY).encode())
    assert errors == [] and document.doc_id == "rare-doc"


# ----------------------------------------------------------------------------- folders


def write(folder: Path, relative: str, content: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def test_load_documents_reads_subfolders_and_skips_readme(tmp_path):
    write(tmp_path, "a.md", with_front({"id": "doc-a"}))
    write(tmp_path, "sub/deeper/b.md", with_front({"id": "doc-b"}))
    write(tmp_path, "README.md", "# How to write documents\n")
    write(tmp_path, "notes.txt", "not a document")
    documents = load_documents(tmp_path)
    assert documents.errors == []
    assert sorted(documents.by_id) == ["doc-a", "doc-b"]
    assert documents.by_id["doc-b"].path == str(tmp_path / "sub" / "deeper" / "b.md")


def test_duplicate_ids_across_files(tmp_path):
    first = write(tmp_path, "a.md", with_front())
    second = write(tmp_path, "sub/b.md", with_front())
    documents = load_documents(tmp_path)
    assert len(documents.errors) == 1
    error = documents.errors[0]
    assert_error(error, 2, "duplicate id 'rare-doc'", path=str(second))
    assert str(first) in str(error)
    assert [d.path for d in documents.documents] == [str(first)]


def test_errors_of_several_files_are_all_reported(tmp_path):
    write(tmp_path, "good.md", with_front({"id": "good"}))
    bad = write(tmp_path, "bad.md", with_front({"id": "bad"}, add="author: x"))
    ugly = write(tmp_path, "ugly.md", "no front matter\n")
    documents = load_documents(tmp_path)
    assert sorted(str(e).split(":")[0] for e in documents.errors) == sorted([str(bad), str(ugly)])
    assert [d.doc_id for d in documents.documents] == ["good"]


def test_empty_folder(tmp_path):
    documents = load_documents(tmp_path)
    assert documents.documents == []
    assert len(documents.errors) == 1
    assert_error(documents.errors[0], 0, "no documents found", path=str(tmp_path))


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    documents = load_documents(missing)
    assert len(documents.errors) == 1
    assert_error(documents.errors[0], 0, "knowledge folder not found", path=str(missing))
    assert "RCA_KNOWLEDGE_DIR" in str(documents.errors[0])
