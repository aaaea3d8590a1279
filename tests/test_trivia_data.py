"""Embedded trivia questions, TriviaQA loading and JSONL loading."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from societygym.envs.trivia import data
from societygym.envs.trivia.answers import is_correct, normalize_answer
from societygym.envs.trivia.data import (
    FAMILIES,
    SPLITS,
    TriviaItem,
    load_embedded,
    load_jsonl,
    load_questions,
    load_triviaqa,
    split_fingerprint,
)

FIXTURE = Path(__file__).parent / "fixtures" / "triviaqa_rc_nocontext_sample.jsonl"

# Pinned with countryinfo 1.0.1, periodictable 2.1 and us 4.0; a change here means the
# benchmark questions changed and published numbers are no longer comparable.
FINGERPRINTS = {
    None: "0acf13e8c321c233d44cad61cd68bc6313f91c19372ee31ef032c8e5c418b650",
    "train": "15f332ac57e956dcb7c37abd6901c9b71f3046331cd52fa60f1ec9afeb78624c",
    "dev": "4e81f054d60c740fdb309caae6a37369745aa4ba810a64e5a4ab64199cfcb95b",
    "test": "8907d1d6837eb5a6404a1e70f17451577399957f3459a2c5574393f63e8be709",
}
FAMILY_COUNTS = {
    "capital-of": 228,
    "country-with-capital": 211,
    "continent-of": 228,
    "calling-code-of": 214,
    "iso2-code-of": 249,
    "iso3-code-of": 249,
    "country-with-iso3": 249,
    "symbol-of": 118,
    "element-with-symbol": 118,
    "atomic-number-of": 118,
    "element-with-number": 118,
    "state-capital-of": 50,
    "state-with-capital": 50,
    "state-abbreviation-of": 50,
    "state-with-abbreviation": 50,
    "statehood-year-of": 50,
}


@pytest.fixture(scope="module")
def items() -> list[TriviaItem]:
    return load_embedded()


def by_id(items: list[TriviaItem]) -> dict[str, TriviaItem]:
    return {it.id: it for it in items}


# --- embedded set -----------------------------------------------------------------------


def test_counts_per_family_and_total(items):
    assert Counter(it.family for it in items) == FAMILY_COUNTS
    assert set(FAMILY_COUNTS) == set(FAMILIES)
    assert len({it.question for it in items}) == len(items) >= 2000


def test_ids_unique_readable_and_sorted(items):
    ids = [it.id for it in items]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for it in items:
        family, _, slug = it.id.partition("/")
        assert family == it.family and slug
        assert slug == slug.lower() and " " not in slug


def test_answers_and_questions_are_clean(items):
    for it in items:
        assert it.question.endswith("?") and it.question == " ".join(it.question.split())
        assert it.answers and all(a and a == a.strip() for a in it.answers), it
        assert len(set(it.answers)) == len(it.answers), it
        assert "None" not in it.question and "  " not in it.question


def test_distractors_are_plausible_and_wrong(items):
    for it in items:
        assert len(it.distractors) == data.N_DISTRACTORS, it
        assert len({normalize_answer(d) for d in it.distractors}) == len(it.distractors), it
        for d in it.distractors:
            assert d and not is_correct(d, it.answers), (it.id, d)


@pytest.mark.parametrize(
    ("item_id", "question", "accepted", "rejected"),
    [
        ("capital-of/peru", "What is the capital of Peru?", ["Lima"], ["Cusco"]),
        ("symbol-of/iron", "What is the chemical symbol of iron?", ["Fe"], ["Ir", "I"]),
        ("atomic-number-of/neon", "What is the atomic number of neon?", ["10", "ten"], ["20"]),
        (
            "state-capital-of/texas",
            "What is the capital of the U.S. state of Texas?",
            ["Austin"],
            ["Houston"],
        ),
        (
            "capital-of/united-states",
            "What is the capital of the United States?",
            ["Washington, D.C.", "Washington DC", "washington d.c", "Washington"],
            ["New York"],
        ),
        ("element-with-symbol/fe", "Which chemical element has the symbol Fe?", ["iron"], []),
        ("element-with-symbol/al", None, ["Aluminium", "aluminum"], ["Gallium"]),
        ("element-with-symbol/s", None, ["sulfur", "Sulphur"], []),
        ("element-with-number/55", None, ["Caesium", "cesium"], []),
        ("atomic-number-of/oganesson", None, ["118", "one hundred eighteen"], []),
        ("country-with-capital/lima", None, ["Peru"], ["Chile"]),
        (
            "country-with-capital/washington-d-c",
            None,
            ["USA", "U.S.", "United States of America"],
            [],
        ),
        ("country-with-capital/naypyidaw", None, ["Myanmar", "Burma"], []),
        ("capital-of/kazakhstan", None, ["Astana", "Nur-Sultan"], ["Almaty"]),
        ("capital-of/colombia", None, ["Bogotá", "Bogota"], []),
        ("capital-of/yemen", None, ["Sanaa", "Sana'a"], []),
        ("capital-of/georgia", "What is the capital of Georgia (the country)?", ["Tbilisi"], []),
        ("continent-of/peru", "On which continent is Peru located?", ["South America"], []),
        ("continent-of/mexico", None, ["North America"], ["South America"]),
        ("calling-code-of/france", None, ["33", "+33"], ["44"]),
        ("iso3-code-of/germany", None, ["DEU"], ["GER"]),
        ("state-with-capital/olympia", None, ["Washington", "Washington State", "WA"], []),
        ("state-capital-of/minnesota", None, ["Saint Paul", "St. Paul", "St Paul"], []),
        ("statehood-year-of/hawaii", "In what year did Hawaii become a U.S. state?", ["1959"], []),
        ("country-with-iso3/gbr", None, ["United Kingdom", "UK", "Great Britain"], ["England"]),
    ],
)
def test_hand_checked_facts(items, item_id, question, accepted, rejected):
    it = by_id(items)[item_id]
    if question is not None:
        assert it.question == question
    for answer in accepted:
        assert is_correct(answer, it.answers), (item_id, answer)
    for answer in rejected:
        assert not is_correct(answer, it.answers), (item_id, answer)


def test_disputed_and_renamed_facts_are_curated(items):
    ids = set(by_id(items))
    # Disputed or split capitals are dropped rather than guessed.
    for slug in ("bolivia", "south-africa", "israel", "sri-lanka", "eswatini", "hong-kong"):
        assert f"capital-of/{slug}" not in ids
    # Shared capitals ("Kingston") and give-aways ("Mexico City") have no reverse question.
    assert "country-with-capital/kingston" not in ids
    assert "country-with-capital/mexico-city" not in ids
    # Transcontinental countries have no continent question.
    assert "continent-of/russia" not in ids and "continent-of/turkey" not in ids
    # Source index names are not offered as answers.
    vgb = by_id(items)["capital-of/british-virgin-islands"]
    assert vgb.question == "What is the capital of the British Virgin Islands?"
    assert all("," not in a for a in by_id(items)["country-with-iso3/vgb"].answers)


# --- splits -------------------------------------------------------------------------------


def test_splits_partition_the_set_and_are_pinned(items):
    parts = {split: load_embedded(split) for split in SPLITS}
    ids = [{it.id for it in part} for part in parts.values()]
    assert sum(len(s) for s in ids) == len(items)
    assert set().union(*ids) == {it.id for it in items}
    for split, part in parts.items():
        assert all(it.split == split for it in part)
        assert split_fingerprint(part) == FINGERPRINTS[split]
    assert split_fingerprint(items) == FINGERPRINTS[None]
    n = len(items)
    assert 0.75 * n < len(parts["train"]) < 0.85 * n
    assert 0.07 * n < len(parts["dev"]) < 0.13 * n and 0.07 * n < len(parts["test"]) < 0.13 * n


def test_split_is_a_function_of_the_id_alone(items):
    for it in items:
        bucket = int.from_bytes(hashlib.sha256(it.id.encode()).digest()[:8], "big") % 100
        assert it.split == ("train" if bucket < 80 else "dev" if bucket < 90 else "test")


def test_fingerprint_ignores_item_order(items):
    assert split_fingerprint(reversed(items)) == split_fingerprint(items)
    changed = [*items[:-1], TriviaItem(**{**items[-1].__dict__, "answers": ("changed",)})]
    assert split_fingerprint(changed) != split_fingerprint(items)


def test_independent_of_source_order(monkeypatch):
    from countryinfo import CountryInfo

    rows = CountryInfo.all()
    monkeypatch.setattr(CountryInfo, "all", classmethod(lambda cls: dict(reversed(rows.items()))))
    caches = (data._countries, data._embedded, data._embedded_selection)
    for cached in caches:
        cached.cache_clear()
    try:
        for split in (None, *SPLITS):
            assert split_fingerprint(load_embedded(split)) == FINGERPRINTS[split]
    finally:
        for cached in caches:
            cached.cache_clear()


def test_independent_of_hash_seed():
    code = (
        "from societygym.envs.trivia.data import load_embedded, split_fingerprint;"
        "print(split_fingerprint(load_embedded('test')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == FINGERPRINTS["test"]


def test_load_embedded_filters_and_caches():
    capitals = load_embedded("test", families=["capital-of", "state-capital-of"])
    assert capitals and {it.family for it in capitals} <= {"capital-of", "state-capital-of"}
    assert all(it.split == "test" for it in capitals)
    assert load_embedded("test", families=("state-capital-of", "capital-of")) == capitals
    first = load_embedded()
    first.clear()  # callers get their own list
    assert len(load_embedded()) == sum(FAMILY_COUNTS.values())
    with pytest.raises(ValueError, match="split"):
        load_embedded("validation")
    with pytest.raises(ValueError, match="families"):
        load_embedded(families=["capital-of", "no-such-family"])


def test_import_is_cheap():
    code = (
        "import sys, societygym.envs.trivia.data, societygym.envs.trivia.answers;"
        "print(any(m in sys.modules for m in ('datasets', 'countryinfo', 'periodictable', 'us')))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# --- TriviaQA -----------------------------------------------------------------------------


def test_triviaqa_fixture_loads_with_aliases(tmp_path):
    items = load_triviaqa(data_files=str(FIXTURE), cache_dir=str(tmp_path))
    assert len(items) == 7  # the row without any answer is dropped
    mars = items[0]
    assert mars.id == "triviaqa/sg_fixture_001" and mars.family == "triviaqa"
    assert mars.split == "validation" and mars.distractors == ()
    assert mars.answers == ("Mars", "Planet Mars", "The Red Planet", "Fourth planet")
    water = next(it for it in items if it.id.endswith("004"))
    assert water.answers == ("H2O", "Dihydrogen monoxide")  # "H₂O" normalises to "H2O"
    ocean = next(it for it in items if it.id.endswith("007"))
    assert ocean.answers[0] == "Pacific Ocean" and is_correct("the Pacific", ocean.answers)
    assert load_triviaqa(data_files=[str(FIXTURE)], limit=2, cache_dir=str(tmp_path)) == items[:2]


def test_triviaqa_dev_and_test_halves(tmp_path):
    files = {"validation": str(FIXTURE)}
    everything = load_triviaqa("validation", data_files=files, cache_dir=str(tmp_path))
    dev = load_triviaqa("dev", data_files=files, cache_dir=str(tmp_path))
    test = load_questions("triviaqa", "test", data_files=files, cache_dir=str(tmp_path))
    assert {it.split for it in dev} == {"dev"} and {it.split for it in test} == {"test"}
    dev_ids, test_ids = {it.id for it in dev}, {it.id for it in test}
    assert not dev_ids & test_ids
    assert dev_ids | test_ids == {it.id for it in everything}


def test_triviaqa_human_answers_join_aliases(tmp_path):
    row = json.loads(FIXTURE.read_text(encoding="utf-8").splitlines()[0])
    row["answer"]["human_answers"] = ["mars", "Red planet Mars"]
    path = tmp_path / "with_human.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (item,) = load_triviaqa(data_files=str(path), cache_dir=str(tmp_path / "cache"))
    assert item.answers[-1] == "Red planet Mars" and item.answers.count("Mars") == 1


# --- JSONL --------------------------------------------------------------------------------


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_happy_path(tmp_path):
    path = write_lines(
        tmp_path,
        json.dumps({"question": "What is 2 + 2?", "answers": ["4", "four", "4"]}),
        "",
        json.dumps(
            {
                "id": "q-moon",
                "question": " Who  walked first on the Moon? ",
                "answers": ["Neil Armstrong", "Armstrong"],
            }
        ),
        json.dumps({"id": 7, "question": "Name a primary colour.", "answers": ["red", "blue"]}),
    )
    items = load_jsonl(path)
    assert [it.id for it in items] == ["questions/1", "q-moon", "7"]
    assert items[0].answers == ("4", "four")
    assert items[1].question == "Who walked first on the Moon?"
    assert {it.split for it in items} == {"test"} and {it.family for it in items} == {"jsonl"}
    assert load_questions(str(path), split="dev")[0].split == "dev"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"answers": ["x"]}', "'question'"),
        ('{"question": "  ", "answers": ["x"]}', "'question'"),
        ('{"question": "Q?"}', "'answers'"),
        ('{"question": "Q?", "answers": "x"}', "'answers'"),
        ('{"question": "Q?", "answers": [1]}', "'answers'"),
        ('{"question": "Q?", "answers": []}', "no non-empty answer"),
        ('{"question": "Q?", "answers": ["", "  "]}', "no non-empty answer"),
        ('{"question": "Q?", "answers": ["x"], "id": [1]}', "'id'"),
        ('{"question": "Q?", "answers": ["x"], "id": "a"}', "duplicate id"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path, line, message):
    good = json.dumps({"id": "a", "question": "Fine?", "answers": ["yes"]})
    path = write_lines(tmp_path, good, line)
    with pytest.raises(ValueError, match=message) as err:
        load_jsonl(path)
    assert f"{path}:2:" in str(err.value)


def test_load_questions_dispatch(tmp_path):
    assert load_questions() == load_embedded("test")
    assert load_questions("embedded", "dev", families=["symbol-of"]) == load_embedded(
        "dev", ["symbol-of"]
    )
    with pytest.raises(ValueError, match="unknown question source"):
        load_questions("questions.csv")
