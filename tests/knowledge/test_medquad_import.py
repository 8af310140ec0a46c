"""Tests for knowledge/medquad_import.py (MedQuAD cancer.gov XML -> Markdown documents).

Run from the repository root: ``python -m pytest tests/knowledge``.
Only repository files are read (tests/data/medquad_xml and knowledge/sources), never ../shared.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # also works when run as plain `pytest`
    sys.path.insert(0, str(REPO_ROOT))

from knowledge import medquad_import as mq  # noqa: E402
from knowledge import writing  # noqa: E402

FIXTURES = REPO_ROOT / "tests" / "data" / "medquad_xml"
SOURCES = REPO_ROOT / "knowledge" / "sources" / "medquad_cancergov_rare" / "xml"
DOCUMENTS = REPO_ROOT / "knowledge" / "documents"
ID_RE = re.compile(r"^nci-[a-z0-9]+(?:-[a-z0-9]+)*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ----------------------------------------------------------------- helpers


def run_import(sources, out_dir):
    stdout, stderr = io.StringIO(), io.StringIO()
    code = mq.import_medquad([Path(s) for s in sources], Path(out_dir), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def split_document(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def sections_of(body: str) -> dict[str, str]:
    """'## heading' -> section body (text up to the next '## ' heading)."""
    sections: dict[str, str] = {}
    current = None
    lines: list[str] = []
    for line in body.split("\n"):
        if line.startswith("## "):
            if current is not None:
                sections[current] = "\n".join(lines).strip("\n")
            current, lines = line[3:], []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip("\n")
    return sections


def tokens(text: str) -> list[str]:
    """Alphanumeric tokens, lowercased, split on everything else."""
    return re.findall(r"[^\W_]+", text.lower())


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def strip_markup(line: str) -> str:
    if line.startswith("### "):
        return line[4:]
    if line.startswith("- "):
        return line[2:]
    return line


def documents_with_pairs(xml_dir: Path):
    """(document, rendered text, {qtype: original answer}) for every document built from xml_dir."""
    files = [mq.parse_medquad_file(p) for p in sorted(xml_dir.glob("*.xml"))]
    docs, errors = mq.build_documents(files)
    assert errors == []
    for doc in docs:
        answers = {pair.qtype: pair.answer for _, pair in doc.sections}
        yield doc, mq.render_document(doc), answers


@pytest.fixture(scope="module")
def fixture_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    code, stdout, stderr = run_import([FIXTURES], out)
    assert code == 0, stderr
    return out, stdout


# ----------------------------------------------------------------- the key property: wording unchanged


@pytest.mark.parametrize("xml_dir", [FIXTURES, SOURCES], ids=["fixtures", "all-sources"])
def test_words_unchanged_for_every_qa_pair(xml_dir):
    checked = 0
    for doc, text, answers in documents_with_pairs(xml_dir):
        _, body = split_document(text)
        sections = sections_of(body)
        headings = {mq.section_heading(q, doc.title): q for q in answers}
        assert set(sections) == set(headings), doc.doc_id
        for heading, section_body in sections.items():
            original = answers[headings[heading]]  # ElementTree already decoded the entities
            assert tokens(section_body) == tokens(original), f"{doc.doc_id}: {heading}"
            checked += 1
    assert checked >= 15


@pytest.mark.parametrize("xml_dir", [FIXTURES, SOURCES], ids=["fixtures", "all-sources"])
def test_punctuation_and_spacing_inside_lines_unchanged(xml_dir):
    """Every character except whitespace is kept, and each output line is a verbatim
    (whitespace-collapsed) piece of the answer, e.g. 'Chest x-ray :' keeps its space."""
    for doc, text, answers in documents_with_pairs(xml_dir):
        sections = sections_of(split_document(text)[1])
        for heading, section_body in sections.items():
            qtype = next(q for q in answers if mq.section_heading(q, doc.title) == heading)
            original = answers[qtype]
            assert mq.markdown_to_source_chars(section_body) == re.sub(r"\s+", "", original)
            flat = collapse(original)
            for line in section_body.split("\n"):
                if line:
                    assert strip_markup(line) in flat, f"{doc.doc_id}: {line[:60]!r}"


def test_entities_are_decoded(fixture_output):
    out, _ = fixture_output
    text = (out / "nci-anal-cancer.md").read_text(encoding="utf-8")
    assert "body's immune system" in text
    assert "&apos;" not in text and "&amp;" not in text and "&quot;" not in text


# ----------------------------------------------------------------- layout


def test_key_points_heading_and_list_items(fixture_output):
    out, _ = fixture_output
    text = (out / "nci-anal-cancer.md").read_text(encoding="utf-8")
    prevention = sections_of(split_document(text)[1])["Prevention of anal cancer"]
    assert prevention.startswith(
        "### Key Points\n\n"
        "- Avoiding risk factors and increasing protective factors may help prevent cancer.\n"
        "- The following are risk factors for anal cancer:\n"
        "- Anal HPV infection\n"
    )
    # a list directly follows the sentence introducing it (one blank line between)
    assert (
        "The following sexual practices increase the risk of anal cancer because they increase "
        "the chance of being infected with HPV:\n\n- Having receptive anal intercourse (anal sex).\n"
        "- Having many sexual partners.\n- Sex between men.\n\nMen and women who"
    ) in prevention
    # a short sub-heading separated by a 3+ space run becomes its own paragraph
    assert "\n\nCondom use\n\nIt is not known if the use of condoms" in prevention


def test_no_raw_list_markers_or_space_runs_left(fixture_output):
    out, _ = fixture_output
    for path in out.glob("nci-*.md"):
        _, body = split_document(path.read_text(encoding="utf-8"))
        for line in body.split("\n"):
            assert "  " not in line, (path.name, line)
            assert not re.search(r" {2,}- ", line)
            assert "\t" not in line
            if line.startswith("-"):
                assert line.startswith("- ") and len(line) > 2


def test_no_trailing_spaces_no_triple_blank_lines_final_newline(fixture_output):
    out, _ = fixture_output
    for path in out.glob("nci-*.md"):
        data = path.read_bytes()
        text = data.decode("utf-8")
        assert "\r" not in text
        assert not re.search(r"[ \t]+$", text, re.M), path.name
        assert "\n\n\n" not in text, path.name
        assert text.endswith("\n") and not text.endswith("\n\n")


def test_headings_are_topics_key_points_and_key_point_titles(fixture_output):
    out, _ = fixture_output
    for path in out.glob("nci-*.md"):
        text = path.read_text(encoding="utf-8")
        headings = [line for line in text.split("\n") if line.startswith("#")]
        assert all("?" not in h for h in headings)  # MedQuAD question text is never copied
        for heading in (h for h in headings if h.startswith("### ")):
            # a block's title line (a key point, "Stage I Anal Cancer") becomes its heading, as on cancer.gov
            assert " - " not in heading and len(heading) < 300, (path.name, heading)


def test_answer_to_markdown_small_example():
    answer = (
        "Key Points\n                    - First point.    - Second point:         - Nested\n"
        "                \n                \n"
        "                    First point.\n"
        "                    Intro:         -   Chest x-ray : An x-ray.    -  Biopsy: removal.        After list.   "
        "Surgery     Surgery is common.\n"
    )
    assert mq.answer_to_markdown(answer) == (
        "### Key Points\n\n- First point.\n- Second point:\n- Nested\n\n### First point.\n\nIntro:\n\n"
        "- Chest x-ray : An x-ray.\n- Biopsy: removal.\n\nAfter list.\n\nSurgery\n\nSurgery is common."
    )


# ----------------------------------------------------------------- merging, metadata


def test_anal_cancer_files_merge_into_one_document(fixture_output):
    out, stdout = fixture_output
    assert sorted(p.name for p in out.glob("*.md")) == [
        "nci-anal-cancer.md", "nci-gastrointestinal-stromal-tumors.md"]
    assert "wrote nci-anal-cancer.md (9 sections)" in stdout
    front, body = split_document((out / "nci-anal-cancer.md").read_text(encoding="utf-8"))
    assert front["url"] == "https://www.cancer.gov/types/anal/patient/anal-treatment-pdq"
    assert "0000005_1.xml" in front["source"] and "0000005_2.xml" in front["source"]
    assert list(sections_of(body)) == [
        "General information about anal cancer", "Risk factors for anal cancer",
        "Signs and symptoms of anal cancer", "Diagnosis of anal cancer: tests and exams", "Stages of anal cancer",
        "Treatment of anal cancer", "Outlook (prognosis) for anal cancer", "Prevention of anal cancer",
        "Research and clinical trials for anal cancer",
    ]
    assert body.startswith("# Anal Cancer\n\n## General information about anal cancer\n\n")


def test_front_matter(fixture_output):
    out, _ = fixture_output
    for path in out.glob("nci-*.md"):
        front, _ = split_document(path.read_text(encoding="utf-8"))
        assert set(front) <= set(mq.ALLOWED_FRONT_MATTER_KEYS)
        assert {"id", "title", "publisher", "url", "language", "retrieved", "licence", "attribution", "source"} <= set(front)
        assert front["id"] == path.stem and ID_RE.match(front["id"])
        assert DATE_RE.match(str(front["retrieved"]))
        assert front["language"] == "en"
        assert front["url"].startswith("https://www.cancer.gov/")
        assert "CC BY 4.0" in front["licence"]
        assert "Ben Abacha" in front["attribution"] and "2019" in front["attribution"]
        assert "out of date" in front["attribution"]
        assert mq.MEDQUAD_COMMIT in front["source"]
        assert all(isinstance(v, str) for k, v in front.items() if k not in ("retrieved", "cancer_types"))
        assert front["cancer_types"] and all(isinstance(t, str) for t in front["cancer_types"])


def test_title_restores_sezary_but_body_stays_verbatim(tmp_path):
    src = SOURCES / "0000004_4.xml"
    code, stdout, stderr = run_import([src], tmp_path)
    assert code == 0, stderr
    text = (tmp_path / "nci-mycosis-fungoides-and-the-sezary-syndrome.md").read_text(encoding="utf-8")
    front, body = split_document(text)
    assert front["title"] == "Mycosis Fungoides and the Sézary Syndrome"
    assert "## General information about mycosis fungoides and the Sézary syndrome" in body
    # topic headings are built from the (restored) title; the quoted text keeps MedQuAD's spelling
    body_text = "\n".join(line for line in body.split("\n") if not line.startswith(("# ", "## ")))
    assert "Sézary" not in body_text and "Szary" in body_text


def test_about_phrase_lowercases_but_keeps_names():
    assert mq.about_phrase("Bile Duct Cancer (Cholangiocarcinoma)") == "bile duct cancer (cholangiocarcinoma)"
    assert mq.about_phrase("Kaposi Sarcoma") == "Kaposi sarcoma"
    assert mq.slugify("Mycosis Fungoides and the Sézary Syndrome") == "mycosis-fungoides-and-the-sezary-syndrome"


# ----------------------------------------------------------------- determinism and atomic writes


def test_output_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_import([FIXTURES], a)[0] == 0
    assert run_import([FIXTURES], b)[0] == 0
    assert run_import([FIXTURES], a)[0] == 0  # re-run over existing files
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_no_temp_files_left_behind(tmp_path):
    assert run_import([FIXTURES], tmp_path)[0] == 0
    assert all(p.name.startswith("nci-") and p.suffix == ".md" for p in tmp_path.iterdir())


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "nci-x.md"
    target.write_text("old\n", encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(writing.os, "replace", boom)
    with pytest.raises(OSError):
        mq.write_atomically(target, "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["nci-x.md"]


def test_committed_documents_match_sources(tmp_path):
    """knowledge/documents/nci-*.md must be what the importer makes from knowledge/sources."""
    code, _, stderr = run_import([SOURCES], tmp_path)
    assert code == 0, stderr
    generated = sorted(p.name for p in tmp_path.glob("nci-*.md"))
    assert len(generated) == 30
    # other nci-*.md documents (not from MedQuAD) may live in the same folder
    from_medquad = sorted(
        p.name for p in DOCUMENTS.glob("nci-*.md")
        if "MedQuAD 1_CancerGov_QA/" in split_document(p.read_text(encoding="utf-8"))[0].get("source", "")
    )
    assert from_medquad == generated, "re-run: python -m knowledge import-medquad"
    for name in generated:
        assert (DOCUMENTS / name).read_bytes() == (tmp_path / name).read_bytes(), f"{name}: re-run the importer"


# ----------------------------------------------------------------- bad input


BAD_FILES = {
    "broken.xml": ("<Document id='x' url='https://www.cancer.gov/x'><Focus>Broken", "not well-formed XML"),
    "noqa.xml": ("<Document id='y' url='https://www.cancer.gov/y'><Focus>No Pairs Cancer</Focus></Document>", "no <QAPairs>"),
    "oddtype.xml": (
        "<Document id='z' url='https://www.cancer.gov/z'><Focus>Odd Cancer</Focus><QAPairs><QAPair pid='1'>"
        "<Question qid='z-1' qtype='frequency'>How many?</Question><Answer>Some.</Answer></QAPair></QAPairs></Document>",
        "unknown qtype 'frequency'",
    ),
    "empty.xml": (
        "<Document id='w' url='https://www.cancer.gov/w'><Focus>Empty Cancer</Focus><QAPairs><QAPair pid='1'>"
        "<Question qid='w-1' qtype='information'>What?</Question><Answer>  \n  </Answer></QAPair></QAPairs></Document>",
        "empty <Answer>",
    ),
    "notmedquad.xml": ("<html><body>hello</body></html>", "expected <Document>"),
}


def test_bad_files_are_reported_and_good_files_still_import(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for fixture in FIXTURES.glob("*.xml"):
        shutil.copy(fixture, src / fixture.name)
    for name, (content, _) in BAD_FILES.items():
        (src / name).write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, stderr = run_import([src], out)
    assert code == 1
    for name, (_, message) in BAD_FILES.items():
        lines = [line for line in stderr.splitlines() if name in line]
        assert len(lines) == 1, (name, stderr)
        assert message in lines[0] and "Fix:" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == ["nci-anal-cancer.md", "nci-gastrointestinal-stromal-tumors.md"]
    assert "5 failed" in stdout


def test_missing_source_is_an_error(tmp_path):
    code, _, stderr = run_import([tmp_path / "nope.xml"], tmp_path / "out")
    assert code == 1
    assert "nope.xml" in stderr and "not found" in stderr
    code, _, stderr = run_import([tmp_path], tmp_path / "out")  # a directory without XML
    assert code == 1 and "no *.xml files" in stderr


def test_duplicate_qtype_across_files_of_one_cancer_is_an_error(tmp_path):
    shutil.copy(FIXTURES / "0000005_2.xml", tmp_path / "a.xml")
    shutil.copy(FIXTURES / "0000005_2.xml", tmp_path / "b.xml")
    code, _, stderr = run_import([tmp_path], tmp_path / "out")
    assert code == 1 and "a.xml" in stderr and "b.xml" in stderr and "'prevention'" in stderr


def test_section_heading_rejects_unknown_qtype():
    with pytest.raises(ValueError, match="unknown qtype"):
        mq.section_heading("frequency", "Penile Cancer")


# ----------------------------------------------------------------- CLI


def run_cli(*args, cwd=REPO_ROOT):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "knowledge", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_import(tmp_path):
    result = run_cli("import-medquad", str(FIXTURES), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "wrote nci-anal-cancer.md (9 sections)" in result.stdout
    assert "imported 2 document(s)" in result.stdout
    assert result.stderr == ""


def test_cli_bad_arguments_exit_2(tmp_path):
    assert run_cli().returncode == 2
    assert run_cli("import-medquad", "--bogus").returncode == 2
    assert run_cli("no-such-command").returncode == 2


def test_cli_bad_file_exit_1(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("not xml at all", encoding="utf-8")
    result = run_cli("import-medquad", str(bad), str(FIXTURES / "0000003_2.xml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "bad.xml" in result.stderr and "not well-formed XML" in result.stderr
    assert (tmp_path / "out" / "nci-gastrointestinal-stromal-tumors.md").is_file()


# ----------------------------------------------------------------- property test of the layout rules


try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # hypothesis is optional
    pass
else:
    _piece = st.one_of(
        st.sampled_from(["Word", "x-ray", ":", "(a)", "-", "- ", "-hCG", "Key Points", "1.", "it's", "é"]),
        st.text(alphabet="abcXYZ09.,;:()-'", min_size=1, max_size=6),
        st.text(alphabet=" \t\n", min_size=1, max_size=12),
    )

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.lists(_piece, min_size=1, max_size=40).map("".join))
    def test_layout_property_keeps_every_character(answer):
        markdown = mq.answer_to_markdown(answer)  # raises if a character were lost or changed
        assert mq.markdown_to_source_chars(markdown) == re.sub(r"\s+", "", answer)
        assert tokens(markdown) == tokens(answer)
        assert not re.search(r"[ \t]$", markdown, re.M)
        assert "\n\n\n" not in markdown and not markdown.startswith("\n")
