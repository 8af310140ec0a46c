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
from knowledge.medquad_layout import PHENOTYPE_TABLE_HEADER, load_boilerplate  # noqa: E402

FIXTURES = REPO_ROOT / "tests" / "data" / "medquad_xml"
RARE_FIXTURES = REPO_ROOT / "tests" / "data" / "medquad_xml_rare"
SOURCES = REPO_ROOT / "knowledge" / "sources" / "medquad_cancergov_rare" / "xml"
RARE_SOURCES = REPO_ROOT / "knowledge" / "sources" / "medquad_rare" / "xml"
DOCUMENTS = REPO_ROOT / "knowledge" / "documents"
ID_RE = re.compile(r"^(?:nci|gard|ghr)-[a-z0-9]+(?:-[a-z0-9]+)*$")
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


def left_out(answer: str, collection: str) -> str:
    """The answer without what the importer leaves out: the listed boilerplate."""
    for entry in load_boilerplate():
        if entry.collection == collection:
            answer = re.sub(r"\s+".join(map(re.escape, entry.text.split())), " ", answer)
    return answer


def without_list_dashes(text: str) -> str:
    return re.sub(r"(?:(?<=\s)|^)-(?=\s|$)", " ", text)


def documents_with_pairs(xml_dir: Path):
    """(document, rendered text, {qtype: original answers, boilerplate left out}) per document of xml_dir."""
    files = [mq.parse_medquad_file(p) for p in sorted(xml_dir.rglob("*.xml"))]
    docs, errors = mq.build_documents(files)
    assert errors == []
    for doc in docs:
        answers = {mq.section_heading(pairs[0].qtype, doc.title, [p.answer for p in pairs]): " ".join(
            left_out(p.answer, doc.collection.source) for p in pairs) for _, pairs in doc.sections}
        yield doc, mq.render_document(doc), answers


@pytest.fixture(scope="module")
def fixture_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    code, stdout, stderr = run_import([FIXTURES], out)
    assert code == 0, stderr
    return out, stdout


# ----------------------------------------------------------------- the key property: wording unchanged


ALL_DIRS = [FIXTURES, RARE_FIXTURES, SOURCES, RARE_SOURCES]
ALL_IDS = ["fixtures", "rare-fixtures", "all-sources", "all-rare-sources"]


@pytest.mark.parametrize("xml_dir", ALL_DIRS, ids=ALL_IDS)
def test_words_unchanged_for_every_qa_pair(xml_dir):
    checked = 0
    for doc, text, answers in documents_with_pairs(xml_dir):
        sections = sections_of(split_document(text)[1])
        assert set(sections) == {h for h, a in answers.items() if a.strip()}, doc.doc_id
        for heading, section_body in sections.items():
            original = answers[heading]  # ElementTree already decoded the entities
            assert tokens(section_body) == tokens(original), f"{doc.doc_id}: {heading}"
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("xml_dir", ALL_DIRS, ids=ALL_IDS)
def test_punctuation_and_spacing_inside_lines_unchanged(xml_dir):
    """Every character except whitespace and list dashes is kept, and each output line is a verbatim
    (whitespace-collapsed) piece of the answer, e.g. 'Chest x-ray :' keeps its space."""
    for doc, text, answers in documents_with_pairs(xml_dir):
        for heading, section_body in sections_of(split_document(text)[1]).items():
            original = answers[heading]
            assert mq.markdown_to_source_chars(section_body) == re.sub(r"\s+", "", without_list_dashes(original))
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
        assert {"id", "title", "publisher", "url", "language", "date_note", "licence", "attribution", "source"} <= set(front)
        assert front["id"] == path.stem and ID_RE.match(front["id"])
        # No date: neither the crawl nor a review is dated in MedQuAD. The note says so, and where to check.
        assert "retrieved" not in front and "last_reviewed" not in front
        assert front["date_note"] == mq.DATE_NOTE and "MedQuAD" in front["date_note"]
        assert "publisher's current page" in front["date_note"]
        assert front["language"] == "en"
        assert front["url"].startswith("https://www.cancer.gov/")
        assert "CC BY 4.0" in front["licence"]
        assert "Ben Abacha" in front["attribution"] and "2019" in front["attribution"]
        assert "out of date" in front["attribution"]
        assert mq.MEDQUAD_COMMIT in front["source"]
        assert all(isinstance(v, str) for k, v in front.items() if k != "cancer_types")
        assert front["cancer_types"] and all(isinstance(t, str) for t in front["cancer_types"])


@pytest.fixture(scope="module")
def rare_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("rare")
    code, stdout, stderr = run_import([RARE_FIXTURES], out)
    assert code == 0, stderr
    return {p.stem: split_document(p.read_text(encoding="utf-8")) for p in out.glob("*.md")}


def test_each_collection_names_its_publisher_and_id_prefix(rare_output):
    assert sorted(rare_output) == ["gard-adenocarcinoma-of-the-appendix", "gard-paragangliomas-4", "ghr-chordoma"]
    gard, _ = rare_output["gard-paragangliomas-4"]
    ghr, _ = rare_output["ghr-chordoma"]
    assert gard["publisher"].startswith("Genetic and Rare Diseases Information Center")
    assert gard["url"].startswith("https://rarediseases.info.nih.gov/")
    assert "Genetics Home Reference" in ghr["publisher"] and "MedlinePlus Genetics" in ghr["publisher"]
    assert ghr["title"] == "Chordoma"  # GHR writes its focus in lower case
    assert ghr["cancer_types"] == ["chordoma"]
    assert "3_GHR_QA/0000181.xml" in ghr["source"] and "medquad_rare" in ghr["licence"]


def test_ghr_sections_are_named_like_every_other_collection(rare_output):
    _, body = rare_output["ghr-chordoma"]
    assert list(sections_of(body)) == [
        "General information about chordoma", "How common chordoma is", "Genetic changes related to chordoma (causes)",
        "Inherited risk of chordoma (genetics)", "Other websites about chordoma (their names)"]
    # two spaces separate GHR's paragraphs
    assert "\n\nApproximately half of all chordomas occur" in sections_of(body)["General information about chordoma"]


def test_site_boilerplate_is_left_out_and_the_disease_specific_text_kept(rare_output):
    _, ghr_body = rare_output["ghr-chordoma"]
    # its answer to "how is chordoma treated?" names other sites only: headed for what it is, not "Treatment"
    treatment = sections_of(ghr_body)["Other websites about chordoma (their names)"]
    assert "These resources from MedlinePlus" not in treatment and "Palliative Care" not in treatment
    assert treatment.startswith("These resources address the diagnosis or management of chordoma:\n\n- Chordoma Foundation")
    _, gard_body = rare_output["gard-paragangliomas-4"]
    text = "\n".join(sections_of(gard_body).values())
    assert "Human Phenotype Ontology (HPO)" not in text and "MedlinePlus Medical Dictionary" not in text


def test_gard_questions_become_headings_and_the_symptom_table_a_list(rare_output):
    _, body = rare_output["gard-paragangliomas-4"]
    symptoms = sections_of(body)["Signs and symptoms of paragangliomas 4"]
    assert symptoms.startswith("### What are the signs and symptoms of Paragangliomas 4?\n\n"
                               "The Human Phenotype Ontology provides the following list of signs and symptoms "
                               "for Paragangliomas 4.\n\n### " + PHENOTYPE_TABLE_HEADER +
                               "\n\n- Gastrointestinal stroma tumor 5%\n- Neuroblastoma 5%\n")
    assert "\n- Adrenal pheochromocytoma\n" in symptoms  # a row without a frequency ("-") keeps its name
    _, appendix = rare_output["gard-adenocarcinoma-of-the-appendix"]
    diagnosis = sections_of(appendix)["Diagnosis of adenocarcinoma of the appendix: tests and exams"]
    assert diagnosis.startswith("### How might adenocarcinoma of the appendix be diagnosed?\n\nAdenocarcinoma of")


def test_every_boilerplate_entry_is_repeated_in_the_sources():
    """Only text repeated across a collection's pages may be listed as boilerplate."""
    texts = [p.read_text(encoding="utf-8").replace("&apos;", "'") for p in RARE_SOURCES.rglob("*.xml")]
    for entry in load_boilerplate():
        found = sum(1 for text in texts if entry.pattern.search(text))
        assert found >= 3, f"{entry.text[:50]!r} is in {found} source documents"


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
    """knowledge/documents/{nci,gard,ghr}-*.md from MedQuAD must be what the importer makes from knowledge/sources."""
    code, _, stderr = run_import([SOURCES, RARE_SOURCES], tmp_path)
    assert code == 0, stderr
    generated = sorted(p.name for p in tmp_path.glob("*.md"))
    assert len(generated) == 206  # 30 + 176 (two cancer.gov cancers come in two files each)
    # other documents (not from MedQuAD) may live in the same folder
    from_medquad = sorted(
        p.name for p in DOCUMENTS.glob("*.md")
        if split_document(p.read_text(encoding="utf-8"))[0].get("source", "").startswith("MedQuAD ")
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
        "<Question qid='z-1' qtype='weather'>How many?</Question><Answer>Some.</Answer></QAPair></QAPairs></Document>",
        "unknown qtype 'weather'",
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


def test_a_topic_answered_in_two_files_keeps_both_answers_in_file_order(tmp_path):
    shutil.copy(FIXTURES / "0000005_2.xml", tmp_path / "a.xml")
    shutil.copy(FIXTURES / "0000005_2.xml", tmp_path / "b.xml")
    code, _, stderr = run_import([tmp_path], tmp_path / "out")
    assert code == 0, stderr
    _, body = split_document((tmp_path / "out" / "nci-anal-cancer.md").read_text(encoding="utf-8"))
    prevention = sections_of(body)["Prevention of anal cancer"]
    half = len(prevention) // 2
    assert prevention.count("### Key Points") == 2 and prevention[:half - 1] == prevention[half + 1:]


def test_unknown_collection_is_an_error(tmp_path):
    (tmp_path / "x.xml").write_text(
        "<Document id='x' source='Mayo' url='https://example.org/x'><Focus>Chordoma</Focus><QAPairs><QAPair>"
        "<Question qtype='information'>What?</Question><Answer>Text.</Answer></QAPair></QAPairs></Document>",
        encoding="utf-8")
    code, _, stderr = run_import([tmp_path], tmp_path / "out")
    assert code == 1 and "unknown collection source='Mayo'" in stderr and "medquad_collections.py" in stderr


def test_section_heading_rejects_unknown_qtype():
    with pytest.raises(ValueError, match="unknown qtype"):
        mq.section_heading("weather", "Penile Cancer")


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
        assert mq.markdown_to_source_chars(markdown) == re.sub(r"\s+", "", without_list_dashes(answer))
        assert tokens(markdown) == tokens(answer)
        assert not re.search(r"[ \t]$", markdown, re.M)
        assert "\n\n\n" not in markdown and not markdown.startswith("\n")


def test_the_rare_question_set_is_the_sources_questions_verbatim():
    """tests/data/medquad_rare.jsonl: each of the 663 NIH questions and its answer, as in the XML."""
    result = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "medquad_rare_set.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(1 for _ in (REPO_ROOT / "tests" / "data" / "medquad_rare.jsonl").open(encoding="utf-8")) == 663


def test_a_narrower_cancer_a_section_is_about_is_in_cancer_types(tmp_path):
    """The cancer.gov page on CNS embryonal tumours treats medulloblastoma in sections of its own."""
    code, _, stderr = run_import([RARE_SOURCES / "1_CancerGov_QA" / "0000006_6.xml"], tmp_path)
    assert code == 0, stderr
    front, _ = split_document((tmp_path / "nci-childhood-central-nervous-system-embryonal-tumors.md").read_text())
    assert front["cancer_types"] == ["central nervous system embryonal tumor", "medulloblastoma"]
