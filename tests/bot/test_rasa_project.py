"""The Rasa project files in bot/: the single source of truth for intents, examples, entities and
synonyms. Checks the structure Rasa 3.6 needs and the consistency the embedded engine relies on."""

import json
import re
import string
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from bot.safety import find_red_flag

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
EVAL_DIR = ROOT / "tests" / "data"


def load(name: str):
    return yaml.safe_load((BOT / name).read_text(encoding="utf-8"))


DOMAIN = load("domain.yml")
CONFIG = load("config.yml")
NLU = load("data/nlu.yml")
RULES = load("data/rules.yml")
STORIES = load("data/stories.yml") if (BOT / "data" / "stories.yml").exists() else None

INTENTS = [
    "greet", "goodbye", "thanks", "ask_question", "find_trial", "find_organisation", "emergency",
    "out_of_scope", "human_handoff", "bot_capabilities", "feedback", "inform", "affirm", "deny",
]
MIN_EXAMPLES = {"ask_question": 60, "find_trial": 40, "find_organisation": 40, "out_of_scope": 40, "emergency": 40}
SMALL_TALK_MIN = 20
ENTITY_INTENTS = ("find_trial", "find_organisation", "inform")
ACTIONS = [
    "action_greet", "action_goodbye", "action_thanks", "action_answer_question", "action_find_trial",
    "action_find_organisation", "action_emergency", "action_out_of_scope", "action_human_handoff",
    "action_bot_capabilities", "action_feedback", "action_default_fallback", "validate_trial_form",
    "validate_organisation_form", "action_ask_cancer_type",
]
RASA_DEFAULT_ACTIONS = {
    "action_listen", "action_restart", "action_session_start", "action_default_fallback",
    "action_deactivate_loop", "action_revert_fallback_events", "action_default_ask_affirmation",
    "action_default_ask_rephrase", "action_two_stage_fallback", "action_back", "action_unlikely_intent",
    "action_extract_slots",
}

# ----------------------------------------------------------------------------------------------
# Parsing nlu.yml

ANNOTATION = re.compile(r"\[(?P<text>[^\[\]]+)\](?:\((?P<entity>[^()]+)\)|(?P<json>\{[^{}]*\}))")


def parse_example(example: str) -> tuple[str, list[dict]]:
    """Plain text and entities of one annotated example, the way Rasa reads it."""
    text, entities, pos = "", [], 0
    for m in ANNOTATION.finditer(example):
        text += example[pos:m.start()]
        if m.group("entity"):
            entity, value = m.group("entity"), None
        else:
            spec = json.loads(m.group("json"))
            entity, value = spec["entity"], spec.get("value")
        entities.append({"start": len(text), "end": len(text) + len(m.group("text")), "text": m.group("text"),
                         "entity": entity, "value": value})
        text += m.group("text")
        pos = m.end()
    return text + example[pos:], entities


def block(item) -> list[str]:
    lines = [line for line in item["examples"].splitlines() if line.strip()]
    assert all(line.startswith("- ") for line in lines), lines
    return [line[2:] for line in lines]


INTENT_EXAMPLES: dict[str, list[str]] = defaultdict(list)
SYNONYMS: dict[str, list[str]] = {}
LOOKUPS: dict[str, list[str]] = {}
REGEXES: dict[str, list[str]] = {}
for item in NLU["nlu"]:
    if "intent" in item:
        INTENT_EXAMPLES[item["intent"]].extend(block(item))
    elif "synonym" in item:
        assert item["synonym"] not in SYNONYMS, f"synonym {item['synonym']!r} defined twice"
        SYNONYMS[item["synonym"]] = block(item)
    elif "lookup" in item:
        LOOKUPS[item["lookup"]] = block(item)
    elif "regex" in item:
        REGEXES[item["regex"]] = block(item)
    else:
        raise AssertionError(f"unknown nlu item {item}")

SYNONYM_OF = {v.lower(): canon for canon, variants in SYNONYMS.items() for v in variants}


def canonical(text: str) -> str:
    return SYNONYM_OF.get(text.lower(), text)


def lookup_regex(entity: str) -> re.Pattern:
    """The regex Rasa's RegexEntityExtractor builds from a lookup table (case-insensitive)."""
    alternatives = "|".join(re.escape(e) for e in LOOKUPS[entity])
    return re.compile(r"(\b" + alternatives.replace("|", r"\b|\b") + r"\b)", re.IGNORECASE)


def extract(text: str) -> list[tuple[int, int, str, str]]:
    found = []
    for entity in LOOKUPS:
        for m in lookup_regex(entity).finditer(text):
            found.append((m.start(), m.end(), entity, m.group(0)))
    for entity, patterns in REGEXES.items():
        for pattern in patterns:
            for m in re.finditer(pattern, text, re.IGNORECASE):
                found.append((m.start(), m.end(), entity, m.group(0)))
    return found


def normalise(text: str) -> str:
    text = text.lower().translate(str.maketrans("", "", string.punctuation + "\u2019\u2018"))
    return " ".join(text.split())


PLAIN_EXAMPLES = {intent: [parse_example(e)[0] for e in examples] for intent, examples in INTENT_EXAMPLES.items()}

# ----------------------------------------------------------------------------------------------
# Versions and files


@pytest.mark.parametrize("data", [DOMAIN, CONFIG, NLU, RULES] + ([STORIES] if STORIES else []),
                         ids=["domain", "config", "nlu", "rules"] + (["stories"] if STORIES else []))
def test_version_is_3_1(data):
    assert data["version"] == "3.1"


def test_endpoints_and_credentials():
    endpoints = load("endpoints.yml")
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"
    credentials = load("credentials.yml")
    assert "rest" in credentials
    # Rasa treats every top-level key of credentials.yml as a channel: nothing else may be there
    assert set(credentials) == {"rest"}


# ----------------------------------------------------------------------------------------------
# Domain


def test_domain_intents_are_the_contract():
    assert DOMAIN["intents"] == INTENTS


def test_domain_entities_slots_forms():
    assert DOMAIN["entities"] == ["cancer_type", "country"]
    slots = DOMAIN["slots"]
    for name in ("cancer_type", "country"):
        slot = slots[name]
        assert slot["type"] == "text" and slot["influence_conversation"] is False
    # a question's cancer is set by the answer action, which reads the conversation's cancer first
    # ("is it the same as a sarcoma?" after chordoma is about both)
    assert slots["cancer_type"]["mappings"][0] == {"type": "from_entity", "entity": "cancer_type",
                                                   "not_intent": ["emergency", "out_of_scope", "ask_question"]}
    assert slots["country"]["mappings"][0] == {"type": "from_entity", "entity": "country",
                                               "not_intent": ["emergency", "out_of_scope"]}
    from_text = [m for m in slots["cancer_type"]["mappings"] if m["type"] == "from_text"]
    assert len(from_text) == 1
    assert from_text[0]["conditions"] == [
        {"active_loop": "trial_form", "requested_slot": "cancer_type"},
        {"active_loop": "organisation_form", "requested_slot": "cancer_type"},
    ]
    assert {"emergency", "out_of_scope", "deny", "ask_question"} <= set(from_text[0]["not_intent"])
    assert set(from_text[0]["not_intent"]) <= set(INTENTS)
    assert "inform" not in from_text[0]["not_intent"]
    assert "requested_slot" in slots
    assert DOMAIN["forms"] == {"trial_form": {"required_slots": ["cancer_type"]},
                               "organisation_form": {"required_slots": ["cancer_type"]}}


def test_every_domain_action_is_implemented_by_the_actions_package():
    from bot.actions import ACTIONS as IMPLEMENTED

    assert set(ACTIONS) == set(IMPLEMENTED)


def test_domain_actions_and_responses():
    assert DOMAIN["actions"] == ACTIONS
    assert not DOMAIN.get("responses"), "every reply goes through a custom action"
    assert "action_ask_cancer_type" in DOMAIN["actions"]
    assert DOMAIN["session_config"]["session_expiration_time"] > 0


def test_form_question_buttons_use_domain_intents_and_canonical_values():
    canonical_cancers = set(SYNONYMS) | set(LOOKUPS["cancer_type"])
    for variant in SYNONYM_OF:
        canonical_cancers.discard(variant)
    from bot.actions.finders import FORM_BUTTONS

    for response in [{"text": "asked by action_ask_cancer_type", "buttons": FORM_BUTTONS}]:
        assert response["text"].strip()
        for button in response.get("buttons", []):
            m = re.fullmatch(r"/(\w+)(\{.*\})?", button["payload"])
            assert m and m.group(1) in INTENTS, button
            if m.group(2):
                entities = json.loads(m.group(2))
                assert set(entities) <= {"cancer_type", "country"}
                assert entities.get("cancer_type", "sarcoma") in canonical_cancers, button


# ----------------------------------------------------------------------------------------------
# Config


def test_config_pipeline_and_policies():
    assert CONFIG["assistant_id"] and CONFIG["language"] == "en"
    names = [c["name"] for c in CONFIG["pipeline"]]
    for name in ("WhitespaceTokenizer", "RegexFeaturizer", "LexicalSyntacticFeaturizer", "CountVectorsFeaturizer",
                 "DIETClassifier", "EntitySynonymMapper", "RegexEntityExtractor", "FallbackClassifier"):
        assert name in names
    assert names[0] == "WhitespaceTokenizer"
    assert names.index("RegexEntityExtractor") < names.index("EntitySynonymMapper"), \
        "synonyms map the extracted entities, so the mapper comes after the extractor"
    char = [c for c in CONFIG["pipeline"] if c.get("analyzer") == "char_wb"]
    assert char and char[0]["min_ngram"] == 1 and char[0]["max_ngram"] == 4
    diet = next(c for c in CONFIG["pipeline"] if c["name"] == "DIETClassifier")
    assert 50 <= diet["epochs"] <= 200
    regex = next(c for c in CONFIG["pipeline"] if c["name"] == "RegexEntityExtractor")
    assert regex["use_lookup_tables"] is True
    fallback = next(c for c in CONFIG["pipeline"] if c["name"] == "FallbackClassifier")
    assert 0.3 <= fallback["threshold"] <= 0.5
    policies = [p["name"] for p in CONFIG["policies"]]
    assert "RulePolicy" in policies


# ----------------------------------------------------------------------------------------------
# Intents and examples


def test_every_domain_intent_has_enough_examples():
    for intent in INTENTS:
        minimum = MIN_EXAMPLES.get(intent, SMALL_TALK_MIN)
        assert len(INTENT_EXAMPLES[intent]) >= minimum, f"{intent}: {len(INTENT_EXAMPLES[intent])} < {minimum}"


def test_every_nlu_intent_is_in_the_domain():
    assert set(INTENT_EXAMPLES) == set(INTENTS)


def test_examples_are_clean():
    for intent, examples in INTENT_EXAMPLES.items():
        for example in examples:
            assert example == example.strip() and example, (intent, example)
            plain, _ = parse_example(example)
            assert "[" not in plain and "]" not in plain, f"unparsed markup in {intent}: {example!r}"
            assert "{" not in plain and "}" not in plain, f"unparsed markup in {intent}: {example!r}"


def test_no_duplicate_examples_within_or_across_intents():
    seen: dict[str, str] = {}
    for intent, examples in PLAIN_EXAMPLES.items():
        for example in examples:
            key = normalise(example)
            assert key not in seen, f"{example!r} in {intent} duplicates an example of {seen[key]}"
            seen[key] = intent


def evaluation_questions() -> set[str]:
    questions = set()
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                for turn in item.get("turns") or [item]:  # conversations: each turn's question
                    questions.add(normalise(turn.get("q") or turn["text"]))  # cancer_mentions.jsonl: "text"
    return questions


def test_no_example_is_an_evaluation_question():
    questions = evaluation_questions()
    assert len(questions) > 200
    for intent, examples in PLAIN_EXAMPLES.items():
        for example in examples:
            assert normalise(example) not in questions, f"{intent} example copies an evaluation question: {example!r}"


CANCER_WORDS = {
    "cancer", "cancers", "tumour", "tumours", "tumor", "tumors", "oncology", "oncologist", "chemo", "chemotherapy",
    "radiotherapy", "radiation", "biopsy", "metastatic", "metastasis", "malignant", "benign", "trial", "trials",
    "carcinoma", "sarcoma", "melanoma", "lymphoma", "leukaemia", "leukemia", "myeloma", "palliative", "hospice",
}


def test_out_of_scope_examples_are_not_about_cancer():
    cancer_pattern = lookup_regex("cancer_type")
    for example in PLAIN_EXAMPLES["out_of_scope"]:
        words = set(normalise(example).split())
        assert not words & CANCER_WORDS, f"out_of_scope example about cancer: {example!r}"
        assert not cancer_pattern.search(example), f"out_of_scope example names a cancer: {example!r}"


def test_safety_layer_agrees_with_the_examples():
    """Questions and searches are never red flags; most emergency examples are."""
    for intent, examples in PLAIN_EXAMPLES.items():
        if intent in ("emergency",):
            continue
        for example in examples:
            assert find_red_flag(example) is None, f"{intent} example flagged as an emergency: {example!r}"
    emergency = PLAIN_EXAMPLES["emergency"]
    flagged = [e for e in emergency if find_red_flag(e) is not None]
    assert len(flagged) >= 0.8 * len(emergency), sorted(set(emergency) - set(flagged))


# ----------------------------------------------------------------------------------------------
# Entities, lookup tables and synonyms


def test_lookup_tables_and_regexes_are_for_domain_entities():
    assert set(LOOKUPS) == {"cancer_type", "country"}
    assert set(REGEXES) <= set(DOMAIN["entities"])
    for patterns in REGEXES.values():
        for pattern in patterns:
            re.compile(pattern, re.IGNORECASE)
    for entity in LOOKUPS:
        lookup_regex(entity)
        assert len(LOOKUPS[entity]) == len({e.lower() for e in LOOKUPS[entity]}), f"duplicates in lookup {entity}"


def test_country_regex_is_case_sensitive_for_us():
    assert [e[3] for e in extract("can you tell us about trials") if e[2] == "country"] == []
    assert {canonical(e[3]) for e in extract("trials in the US") if e[2] == "country"} == {"United States"}
    assert {canonical(e[3]) for e in extract("trials in the U.S. please") if e[2] == "country"} == {"United States"}
    assert {canonical(e[3]) for e in extract("anything in the uk") if e[2] == "country"} == {"United Kingdom"}


def test_longer_lookup_entries_come_before_their_prefixes():
    """Rasa joins a lookup table into one regex: at one position the first alternative that fits wins."""
    for entity, elements in LOOKUPS.items():
        position = {e.lower(): i for i, e in enumerate(elements)}
        for element in elements:
            words = element.lower().split()
            for n in range(1, len(words)):
                prefix = " ".join(words[:n])
                if prefix in position:
                    assert position[element.lower()] < position[prefix], (entity, element, prefix)


def test_annotations_use_domain_entities_and_resolve_to_canonical_values():
    domain_entities = set(DOMAIN["entities"])
    annotated = Counter()
    for intent, examples in INTENT_EXAMPLES.items():
        for example in examples:
            text, entities = parse_example(example)
            for ent in entities:
                annotated[intent] += 1
                assert ent["entity"] in domain_entities, (intent, example)
                assert text[ent["start"]:ent["end"]] == ent["text"]
                if ent["value"] is not None:
                    assert ent["value"] == canonical(ent["text"]), \
                        f"{example!r}: value {ent['value']!r} but the synonyms give {canonical(ent['text'])!r}"
                # the extractor finds exactly this span
                spans = {(s, e, kind) for s, e, kind, _ in extract(text)}
                assert (ent["start"], ent["end"], ent["entity"]) in spans, \
                    f"{example!r}: {ent['text']!r} is not found by the lookup tables/regexes"
    for intent in ENTITY_INTENTS:
        assert annotated[intent] >= 30, f"{intent} needs annotated cancer types and countries"


def test_entity_mentions_in_search_examples_are_annotated():
    """What the extractor finds in find_trial, find_organisation and inform examples is annotated."""
    for intent in ENTITY_INTENTS:
        for example in INTENT_EXAMPLES[intent]:
            text, entities = parse_example(example)
            spans = {(e["start"], e["end"], e["entity"]) for e in entities}
            for start, end, entity, surface in extract(text):  # "US" inside an annotated "the US" is annotated
                assert any(s <= start and end <= e and kind == entity for s, e, kind in spans), \
                    f"{intent}: {surface!r} not annotated in {example!r}"


def test_both_entities_are_annotated_in_each_search_intent():
    for intent in ENTITY_INTENTS:
        kinds = Counter(e["entity"] for ex in INTENT_EXAMPLES[intent] for e in parse_example(ex)[1])
        assert kinds["cancer_type"] >= 15 and kinds["country"] >= 10, (intent, kinds)
    find_trial = [parse_example(e)[1] for e in INTENT_EXAMPLES["find_trial"]]
    assert sum(not ents for ents in find_trial) >= 5, "find_trial also needs examples with no entity"
    assert sum(len({e["entity"] for e in ents}) == 2 for ents in find_trial) >= 10


def test_synonyms_have_one_canonical_value_per_concept():
    canon_lower = Counter(c.lower() for c in SYNONYMS)
    assert all(n == 1 for n in canon_lower.values()), [c for c, n in canon_lower.items() if n > 1]
    variants = Counter(v.lower() for vs in SYNONYMS.values() for v in vs)
    assert all(n == 1 for n in variants.values()), [v for v, n in variants.items() if n > 1]
    for canon, vs in SYNONYMS.items():
        assert canon.lower() not in variants, f"canonical {canon!r} is also a variant of another value"
        assert canon.lower() not in {v.lower() for v in vs}
    # canonical cancer types are lowercase plain names
    cancer_values = {canonical(e) for e in LOOKUPS["cancer_type"]}
    assert all(v == v.lower() for v in cancer_values), sorted(v for v in cancer_values if v != v.lower())


def test_every_surface_form_can_be_extracted():
    regex_forms = set()
    for entity, patterns in REGEXES.items():
        for canon, vs in SYNONYMS.items():
            for v in vs:
                if any(re.fullmatch(p, v) for p in patterns):
                    regex_forms.add(v)
    for entity, elements in LOOKUPS.items():
        lowered = {e.lower() for e in elements}
        for element in elements:
            # each lookup element maps to a canonical value that is itself in the same table
            assert canonical(element).lower() in lowered, (entity, element)
    all_lookup = {e.lower() for elements in LOOKUPS.values() for e in elements}
    for canon, vs in SYNONYMS.items():
        assert canon.lower() in all_lookup, f"canonical {canon!r} missing from the lookup tables"
        for v in vs:
            assert v.lower() in all_lookup or v in regex_forms, f"synonym {v!r} can never be extracted"


EQUIVALENT = [
    ("cancer_type", ["small bowel", "small intestine", "small bowel cancer", "small intestine cancer",
                     "cancer of the small bowel"]),
    ("cancer_type", ["eye melanoma", "uveal melanoma", "intraocular melanoma", "ocular melanoma", "melanoma of the eye"]),
    ("cancer_type", ["womb sarcoma", "sarcoma of the womb", "uterine sarcoma"]),
    ("cancer_type", ["womb cancer", "cancer of the womb", "uterine cancer"]),
    ("cancer_type", ["leukaemia", "leukemia"]),
    ("cancer_type", ["GIST", "gastrointestinal stromal tumour", "gastrointestinal stromal tumor"]),
    ("cancer_type", ["cholangiocarcinoma", "bile duct cancer"]),
    ("cancer_type", ["brain tumour", "brain tumor"]),
    ("cancer_type", ["vulval cancer", "vulvar cancer"]),
    ("cancer_type", ["oesophageal cancer", "esophageal cancer"]),
    ("country", ["UK", "United Kingdom", "Britain", "Great Britain", "England", "U.K."]),
    ("country", ["US", "USA", "United States", "America", "U.S."]),
]


@pytest.mark.parametrize("entity,forms", EQUIVALENT, ids=[forms[0] for _, forms in EQUIVALENT])
def test_required_synonyms(entity, forms):
    values = {canonical(f) for f in forms}
    assert len(values) == 1, {f: canonical(f) for f in forms}
    for form in forms:
        found = [(surface, kind) for _, _, kind, surface in extract(f"trials for {form} please")]
        assert (form, entity) in found or (form.lower(), entity) in [(s.lower(), k) for s, k in found], (form, found)


def test_british_and_american_spellings_of_cancer_types_agree():
    elements = {e.lower() for e in LOOKUPS["cancer_type"]}
    for element in elements:
        for uk, us in (("tumour", "tumor"), ("leukaemia", "leukemia")):
            if uk in element:
                other = element.replace(uk, us)
                assert other in elements and canonical(other) == canonical(element), element


def test_knowledge_base_cancers_are_in_the_lookup_table():
    """Every cancer a document in knowledge/documents is about has its canonical name in the lookup table."""
    elements = {e.lower() for e in LOOKUPS["cancer_type"]}
    covered = {t for path in sorted((ROOT / "knowledge" / "documents").glob("*.md"))
               for t in yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1]).get("cancer_types") or []}
    assert len(covered) >= 150
    assert sorted(t for t in covered if t.lower() not in elements) == []
    for irci in ("small bowel adenocarcinoma", "fibrolamellar hepatocellular carcinoma", "penile cancer",
                 "salivary gland cancer", "anal cancer", "uterine sarcoma", "thymoma", "melanoma of the eye",
                 "brain tumours", "sarcoma", "mucosal melanoma"):
        assert irci in elements, irci


# ----------------------------------------------------------------------------------------------
# Rules


def rule_steps():
    for rule in RULES["rules"]:
        yield rule, rule["steps"], rule.get("condition", [])


def test_rules_use_domain_names_only():
    forms = set(DOMAIN["forms"])
    known_actions = set(DOMAIN["actions"]) | set(DOMAIN.get("responses", {})) | forms | RASA_DEFAULT_ACTIONS
    names = [r["rule"] for r in RULES["rules"]]
    assert len(names) == len(set(names)), "rule names must be unique"
    for rule, steps, condition in rule_steps():
        for step in steps + condition:
            if "action" in step:
                assert step["action"] in known_actions, (rule["rule"], step)
            if "intent" in step:
                assert step["intent"] in set(INTENTS) | {"nlu_fallback"}, (rule["rule"], step)
            if "active_loop" in step:
                assert step["active_loop"] is None or step["active_loop"] in forms, (rule["rule"], step)


def unconditioned_rules():
    return {steps[0]["intent"]: [s.get("action") for s in steps[1:]]
            for _, steps, condition in rule_steps() if not condition and "intent" in steps[0]}


def test_every_intent_has_a_rule():
    rules = unconditioned_rules()
    assert set(rules) == set(INTENTS) | {"nlu_fallback"}
    assert rules["emergency"] == ["action_emergency"]
    assert rules["nlu_fallback"] == ["action_default_fallback"]
    assert rules["find_trial"] == ["trial_form", None]
    assert rules["find_organisation"] == ["organisation_form", None]
    for intent, action in [("greet", "action_greet"), ("goodbye", "action_goodbye"), ("thanks", "action_thanks"),
                           ("ask_question", "action_answer_question"), ("out_of_scope", "action_out_of_scope"),
                           ("human_handoff", "action_human_handoff"), ("bot_capabilities", "action_bot_capabilities"),
                           ("feedback", "action_feedback")]:
        assert rules[intent] == [action], intent


def test_forms_submit_to_their_search_actions_and_emergency_breaks_out():
    for form, action in (("trial_form", "action_find_trial"), ("organisation_form", "action_find_organisation")):
        in_form = [(steps, condition) for _, steps, condition in rule_steps() if {"active_loop": form} in condition]
        submit = [steps for steps, _ in in_form if steps[0] == {"action": form}]
        assert submit and submit[0][-1] == {"action": action}
        emergency = [steps for steps, _ in in_form if steps[0] == {"intent": "emergency"}]
        assert emergency and {"action": "action_emergency"} in emergency[0]
        assert {"action": "action_deactivate_loop"} in emergency[0]
