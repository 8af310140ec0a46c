"""The MedQuAD collections the importer reads, and how their documents are named and sectioned.

Each collection is one NIH site as crawled for MedQuAD (its <Document source="..."> attribute):
cancer.gov PDQ summaries, GARD pages and Genetics Home Reference pages. A collection says who
published the text, how document ids start, and how its answers are laid out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

MEDQUAD_REPO = "abachaa/MedQuAD"
MEDQUAD_COMMIT = "577bd37b96c02d1833b2c9eed2de9f96964e96cb"

# Neither the crawl date nor a review date is recorded: say what is known, and where to check.
DATE_NOTE = ("Text collected for the MedQuAD dataset (2019); it may be out of date. "
             "Check the publisher's current page.")
CITATION = ("Ben Abacha A., Demner-Fushman D. A Question-Entailment Approach to Question Answering. "
            "BMC Bioinformatics 20:511 (2019).")


@dataclass(frozen=True)
class Collection:
    """One MedQuAD collection: where its files are, who published them, how they are laid out."""

    source: str              # the <Document source="..."> attribute
    folder: str              # MedQuAD's folder of the collection
    id_prefix: str           # documents are "<prefix>-<slug of the focus>"
    publisher: str
    site: str                # named in the attribution
    licence_path: str        # the licence text, in the repository
    merge_by_focus: bool     # several files on one focus make one document (cancer.gov's split summaries)
    paragraph_spaces: int    # a run of this many spaces inside a line separates paragraphs
    question_headings: bool  # a question opening a paragraph ("What causes X?") is the source's own heading

    @property
    def licence(self) -> str:
        return (f"CC BY 4.0 (MedQuAD collection). Licence text: {self.licence_path}. "
                "Changes: whitespace and list layout converted to Markdown, section headings added and "
                "repeated site boilerplate left out (knowledge/medquad_boilerplate.yml); the wording is unchanged.")

    @property
    def attribution(self) -> str:
        return (f"Text from {self.site}, as collected in MedQuAD: {CITATION} "
                "The crawl date is not recorded (about 2017-2018); the text may be out of date.")


_RARE_LICENCE = "knowledge/sources/medquad_rare/LICENSE-MedQuAD-CC-BY-4.0.txt"

COLLECTIONS: dict[str, Collection] = {
    "CancerGov": Collection(
        source="CancerGov", folder="1_CancerGov_QA", id_prefix="nci",
        publisher="National Cancer Institute (cancer.gov)",
        site="the NCI PDQ patient summary at cancer.gov",
        licence_path="knowledge/sources/medquad_cancergov_rare/LICENSE-MedQuAD-CC-BY-4.0.txt",
        merge_by_focus=True, paragraph_spaces=3, question_headings=False),
    "GARD": Collection(
        source="GARD", folder="2_GARD_QA", id_prefix="gard",
        publisher="Genetic and Rare Diseases Information Center (GARD), NIH",
        site="the GARD page at rarediseases.info.nih.gov",
        licence_path=_RARE_LICENCE, merge_by_focus=False, paragraph_spaces=2, question_headings=True),
    "GHR": Collection(
        source="GHR", folder="3_GHR_QA", id_prefix="ghr",
        publisher="Genetics Home Reference (now MedlinePlus Genetics), U.S. National Library of Medicine",
        site="the Genetics Home Reference page at ghr.nlm.nih.gov (now MedlinePlus Genetics)",
        licence_path=_RARE_LICENCE, merge_by_focus=False, paragraph_spaces=2, question_headings=False),
}
DEFAULT_SOURCE = "CancerGov"  # files without a source attribute (hand-made fixtures) are cancer.gov's

# qtype -> section heading, in the order sections appear in a document. Headings name their topic and
# the cancer in the words every collection shares, so a question about treatment or inheritance finds
# the same kind of section in a cancer.gov, GARD or Genetics Home Reference document.
QTYPE_SECTIONS: dict[str, str] = {
    "information": "General information about {about}",
    "frequency": "How common {about} is",
    "causes": "Causes of {about}",
    "genetic changes": "Genetic changes related to {about} (causes)",
    "susceptibility": "Risk factors for {about}",
    "inheritance": "Inherited risk of {about} (genetics)",
    "symptoms": "Signs and symptoms of {about}",
    "exams and tests": "Diagnosis of {about}: tests and exams",
    "stages": "Stages of {about}",
    "treatment": "Treatment of {about}",
    "outlook": "Outlook (prognosis) for {about}",
    "prevention": "Prevention of {about}",
    "research": "Research and clinical trials for {about}",
}
QTYPE_ORDER = {qtype: i for i, qtype in enumerate(QTYPE_SECTIONS)}
# Genetics Home Reference answers "how is X treated?" with only the names of other sites (their links are
# not in MedQuAD): headed for what it is, so no question about treatment takes it for an answer.
RESOURCE_LIST_OPENING = "These resources address the diagnosis or management of"
RESOURCE_LIST_HEADING = "Other websites about {about} (their names)"

# Focus strings damaged in MedQuAD (a lost "é"). Only the title and id use the fix; the text stays as it is.
TITLE_FIXES = {
    "Mycosis Fungoides and the Szary Syndrome": "Mycosis Fungoides and the Sézary Syndrome",
    "Waldenstrm macroglobulinemia": "Waldenström macroglobulinemia",
}
# Words of a focus that keep their capital in "about <focus>" (names of people).
PROPER_NOUNS = {"Kaposi", "Ewing", "Merkel", "Langerhans", "Sézary", "Szary", "Hodgkin", "Wilms", "Burkitt",
                "Li-Fraumeni", "Lynch", "Cowden", "Gorlin", "Carney", "Birt-Hogg-Dubé", "Hippel-Lindau",
                "Muir-Torre", "Peutz-Jeghers", "Waldenström", "Askin", "Buschke", "Lowenstein", "Bednar",
                "Turcot", "Gardner", "Werner", "Bloom", "Fanconi", "Castleman", "Erdheim-Chester", "Hurthle", "Paget",
                "Frasier", "Denys-Drash", "Beckwith-Wiedemann", "Rothmund-Thomson",
                "Nijmegen", "Costello", "Noonan", "Klinefelter", "Down"}


def title_for(focus: str) -> str:
    """The document title: the focus, repaired, with a capital first letter (GHR writes them in lower case)."""
    title = TITLE_FIXES.get(focus, focus)
    return title[:1].upper() + title[1:]


def about_phrase(title: str) -> str:
    """'Bile Duct Cancer (Cholangiocarcinoma)' -> 'bile duct cancer (cholangiocarcinoma)'.

    Names of people (Kaposi, Ewing, ...) and acronyms keep their capitals.
    """
    words = []
    for word in title.split():
        core = word.strip("()[],.;:")
        keeps_capitals = core in PROPER_NOUNS or core.split("-")[0] in PROPER_NOUNS or (len(core) > 1 and core.isupper())
        words.append(word if keeps_capitals else word.lower())
    return " ".join(words)


def section_heading(qtype: str, title: str, answers: Sequence[str] = ()) -> str:
    try:
        template = QTYPE_SECTIONS[qtype]
    except KeyError:
        raise ValueError(f"unknown qtype {qtype!r}; known: {', '.join(QTYPE_SECTIONS)}") from None
    if answers and all(a.lstrip().startswith(RESOURCE_LIST_OPENING) for a in answers):
        template = RESOURCE_LIST_HEADING
    return template.format(about=about_phrase(title))


def collection_for(source: str) -> Collection | None:
    return COLLECTIONS.get(source or DEFAULT_SOURCE)
