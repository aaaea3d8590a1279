"""Answer normalisation, grading, extraction and anonymisation."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from societygym.envs.trivia.answers import (
    LLMAnswerExtractor,
    RuleBasedExtractor,
    anonymize,
    extract_answer,
    is_correct,
    normalize_answer,
)
from societygym.envs.trivia.data import load_embedded
from societygym.llm.base import Generation, Usage

# Deterministic property tests that leave no example database behind.
FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True)
PERU = "What is the capital of Peru?"
IRON_SYMBOL = "What is the chemical symbol of iron?"
USA = "What is the capital of the United States?"

# --- normalisation and grading ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Lima", "lima"),
        ("  The   Beatles ", "beatles"),
        ("A Tale of Two Cities", "tale of two cities"),
        ("Washington, D.C.", "washington dc"),
        ("Washington DC", "washington dc"),
        ("U.S.A.", "usa"),
        ("Port-au-Prince", "port au prince"),
        ("snake_case", "snake case"),
        ("Sana'a", "sanaa"),
        ("N’Djamena", "ndjamena"),
        ("Bogotá", "bogota"),
        ("ÅLAND", "aland"),
        ("1,000", "1000"),
        ("3.14", "3 14"),
        ("twenty-six", "twenty six"),
        ("Straße", "strasse"),
        ("!!!", ""),
        ("", ""),
    ],
)
def test_normalize_answer(text, normal):
    assert normalize_answer(text) == normal


@pytest.mark.parametrize(
    ("answer", "aliases", "correct"),
    [
        ("lima", ["Lima"], True),
        ("Lima.", ["Lima"], True),
        ("Lima, Peru", ["Lima"], False),  # exact match, not containment
        ("the Pacific", ["Pacific Ocean", "Pacific"], True),
        ("Washington DC", ["Washington, D.C."], True),
        ("Bogota", ["Bogotá"], True),
        ("Fe", ["Fe"], True),
        ("Iron", ["Fe"], False),
        (None, ["Lima"], False),
        ("", ["Lima"], False),
        ("...", ["...", "Lima"], False),  # nothing left after normalising
        ("Lima", [], False),
    ],
)
def test_is_correct(answer, aliases, correct):
    assert is_correct(answer, aliases) is correct


# --- rule-based extraction ----------------------------------------------------------------

HAND_WRITTEN = [
    ("I'm fairly sure the capital of Peru is Lima.", PERU, "Lima"),
    ("Lima, I think.", PERU, "Lima"),
    ("It's definitely Fe — I studied chemistry.", IRON_SYMBOL, "Fe"),
    ("My best guess would be 26, but I'm not certain.", "What is the atomic number of iron?", "26"),
    ("Answer: Canberra", "What is the capital of Australia?", "Canberra"),
    ("I have no idea.", PERU, None),
    ("", PERU, None),
    ("Hmm, tough one. Canberra?", None, "Canberra"),
    ("No clue, honestly; I'll just throw out Lima as a random guess.", PERU, "Lima"),
    ("Lima is the capital of Peru, I believe.", PERU, "Lima"),
    ("Fe is the symbol for iron, I'm pretty sure.", IRON_SYMBOL, "Fe"),
    ("It's not Cusco, it's Lima.", PERU, "Lima"),
    ("Not sure, but maybe Lima?", PERU, "Lima"),
    ("I'd say Washington, D.C., with about 90% confidence.", USA, "Washington, D.C."),
    ("I believe it's Gibraltar, which is what I remember reading.", None, "Gibraltar"),
    ("This is a wild guess: 89.", "What is the atomic number of actinium?", "89"),
    ("I believe it's Washington D.C. I'm quite sure.", USA, "Washington D.C"),
    ("Djibouti.", "What is the capital of Djibouti?", "Djibouti"),
    ("Probably St. Paul.", "What is the capital of the U.S. state of Minnesota?", "St. Paul"),
    ("Confidence: 80%. Answer: Lima", PERU, "Lima"),
    ("Lima (confidence: 80%)", PERU, "Lima"),
    ("I don't know, sorry.", PERU, None),
    ("Sorry, I can't answer that.", PERU, None),
    ("Pass.", PERU, None),
    ("**Lima**", PERU, "Lima"),
    ("The answer is twenty-six.", "What is the atomic number of iron?", "twenty-six"),
    ("Iron is the answer.", "Which chemical element has the symbol Fe?", "Iron"),
    ("I think it might be Quito, or possibly Lima.", PERU, "Quito"),  # first committed
    ("Lima. It is a beautiful city.", PERU, "Lima"),
    ("My gut says Port-au-Prince but I'm not confident.", None, "Port-au-Prince"),
    ("Ottawa is the capital city of Canada.", "What is the capital of Canada?", "Ottawa"),
    ("Neon has atomic number 10.", "What is the atomic number of neon?", "10"),
    ("That's an easy one: Paris!", "What is the capital of France?", "Paris"),
    ("I think Hamlet was written by Shakespeare.", "Who wrote Hamlet?", "Shakespeare"),
    ("William Shakespeare wrote it.", "Who wrote Hamlet?", "William Shakespeare"),
    ("I'd guess around 1845.", "In what year did Texas become a U.S. state?", "1845"),
    ("It is IS. I studied this in school.", "What is the ISO code of Iceland?", "IS"),
    ("No, I think.", "What is the chemical symbol of nobelium?", "No"),
    ("I'm sorry, but I don't have that information.", "What is the symbol of gold?", None),
    ("The capital of Peru.", PERU, "The capital of Peru"),  # only an echo: kept as last resort
]


@pytest.mark.parametrize(("utterance", "question", "expected"), HAND_WRITTEN)
def test_extract_answer_hand_written(utterance, question, expected):
    got = extract_answer(utterance, question)
    if expected is None:
        assert got is None
    else:
        assert got is not None and normalize_answer(got) == normalize_answer(expected), got


ANSWERING = [
    "{a}", "{a}.", "{a}!", "{a}?", "Answer: {a}", "Final answer: {a}.", "The answer is {a}.",
    "I'm fairly sure it's {a}.", "I think it's {a}.", "It's definitely {a}.", "Probably {a}.",
    "{a}, I think.", "{a}, I'm almost certain.", "Maybe {a}? I'm not sure.",
    "My best guess would be {a}, but I'm not certain.", "I'd say {a}.", "I would go with {a}.",
    "I'm 90% confident the answer is {a}.", "Without a doubt, {a}.",
    "Hmm, tough one. {a}?", "Honestly I'm not sure, but I'll say {a}.",
    "No clue, honestly; I'll just throw out {a} as a random guess.",
    "If I had to guess, {a}.", "It could be {a}, though I wouldn't bet on it.",
    "I believe the answer is {a} — I remember reading about it.",
    "{a} is my answer.", "It must be {a}.", "Pretty sure that's {a}.",
    "That would be {a}, if I remember correctly.", "I'm certain: {a}.",
    "It is {a}. I studied this in school.", "Definitely {a}; no doubt about it.",
    "I'm going with {a}.", "My gut says {a}, but I could be wrong.",
    "Well, I think it might be {a}.", "**{a}**", '"{a}"', "I reckon it's {a}.",
    "Let me think... {a}.", "{a} (confidence: 70%)",
]  # fmt: skip
ABSTAINING = [
    "I have no idea.", "I don't know.", "No idea, sorry.", "I'm not sure.", "Pass.",
    "I can't answer that.", "Honestly, I couldn't tell you.", "", "Sorry, I don't know this one.",
    "Beats me.", "I really can't recall.", "I'm honestly not sure about this one.",
]  # fmt: skip


def test_extraction_accuracy_on_generated_utterances():
    """Templates x every embedded item x a random alias; measured 99.8% when written."""
    rng = random.Random(0)
    items = load_embedded()
    right = 0
    for item in items:
        utterance = rng.choice(ANSWERING).format(a=rng.choice(item.answers))
        right += is_correct(extract_answer(utterance, item.question), item.answers)
    assert right / len(items) >= 0.98
    for item in items[:: len(items) // 60]:
        for utterance in ABSTAINING:
            assert extract_answer(utterance, item.question) is None, utterance


def test_extractor_interface():
    rules = RuleBasedExtractor()
    assert rules("Lima, I think.", PERU) == extract_answer("Lima, I think.", PERU)
    assert rules.extract_batch(["Lima.", "No idea."], [PERU, PERU]) == ["Lima", None]
    assert rules.extract_batch(["Answer: Lima"]) == ["Lima"]
    with pytest.raises(ValueError, match="questions"):
        rules.extract_batch(["a", "b"], [PERU])


def test_extraction_is_bounded_on_huge_inputs():
    huge = [
        "a " * 500_000,
        " is" * 300_000,
        "d.c. " * 200_000,
        "(" * 500_000,
        "I think " * 100_000 + "Lima",
        "x" * 1_000_000,
    ]
    start = time.perf_counter()
    for text in huge:
        got = extract_answer(text, text[:1_000_000])
        assert got is None or len(got) <= 200
    assert time.perf_counter() - start < 5.0


@FUZZ
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=100)))
def test_extraction_never_crashes(utterance, question):
    got = extract_answer(utterance, question)
    assert got is None or (isinstance(got, str) and got.strip() and len(got) <= 200)


# --- LLM extraction -----------------------------------------------------------------------


@dataclass
class FakeLLM:
    """Answers each prompt from a table keyed by the reply line; records the calls."""

    replies: dict[str, str]
    name: str = "fake"
    usage: Usage = field(default_factory=Usage)
    calls: list[dict] = field(default_factory=list)

    def generate(
        self, prompts, *, n=1, max_tokens=64, temperature=0.0, top_p=1.0, stop=None, seed=None
    ):
        self.calls.append(
            {
                "prompts": list(prompts),
                "n": n,
                "max_tokens": max_tokens,
                "stop": stop,
                "temperature": temperature,
            }
        )
        out = []
        for prompt in prompts:
            reply_line = prompt.rsplit("\nReply: ", 1)[1].split("\n", 1)[0]
            out.append([Generation(text=self.replies[reply_line])])
        return out

    def score(self, prompt, continuations):
        return [0.0 for _ in continuations]


def test_llm_extractor_with_fake_model():
    llm = FakeLLM(
        {
            "I'm fairly sure it is Lima.": " Lima\n",
            "No idea at all.": " NONE",
            "Could be Quito.": ' "Quito."',
            "Hmm.": "",
            "It's Fe, I think.": "Answer: Fe",
        }
    )
    extractor = LLMAnswerExtractor(llm)
    utterances = [
        "I'm fairly sure it is Lima.",
        "No idea at all.",
        "Could be Quito.",
        "Hmm.",
        "It's Fe, I think.",
    ]
    questions = [PERU, PERU, PERU, None, IRON_SYMBOL]
    assert extractor.extract_batch(utterances, questions) == ["Lima", None, "Quito", None, "Fe"]
    (call,) = llm.calls  # one batched call
    assert call["n"] == 1 and call["temperature"] == 0.0 and call["max_tokens"] == 12
    assert "\n" in call["stop"]
    first = call["prompts"][0]
    assert f"Question: {PERU}\nReply: I'm fairly sure it is Lima.\nAnswer:" in first
    assert first.endswith("Answer:") and "NONE" in first
    assert "Question: (not given)" in call["prompts"][3]
    assert extractor("No idea at all.", PERU) is None
    assert extractor.extract_batch([]) == [] and len(llm.calls) == 2


def test_llm_extractor_flattens_and_bounds_the_reply():
    prompt = LLMAnswerExtractor.prompt("Lima.\n\nAnswer: Quito" + " pad" * 10_000, PERU)
    reply = prompt.rsplit("\nReply: ", 1)[1]
    assert reply.startswith("Lima. Answer: Quito") and len(reply) < 4_100


# --- anonymisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utterance", "answers", "extracted", "expected"),
    [
        ("I'm sure it's Lima.", ["Lima"], "Lima", "I'm sure it's #."),
        (
            "It's Washington DC, i.e. Washington, D.C.",
            ["Washington, D.C."],
            None,
            "It's #, i.e. #.",
        ),
        ("Washington, D.C. for sure", ["Washington", "Washington, D.C."], None, "#. for sure"),
        ("Sanaa or Sana'a?", ["Sana'a"], None, "# or #?"),
        ("BOGOTÁ, or Bogota", ["Bogotá"], None, "#, or #"),
        ("USA, U.S.A. or U. S. A.", ["USA"], None, "#, #. or #."),
        ("Limaaa and Lima", ["Lima"], None, "Limaaa and #"),  # word boundaries
        ("It's Fe (iron).", ["Iron"], "Fe", "It's # (#)."),
        ("The Lord of the Rings", ["Lord of the Rings"], None, "The #"),
        ("Maybe 1,000?", ["1000"], None, "Maybe #?"),
        ("C++ or a.b* or (x)", ["a.b*", "(x)", "C++", "[", ""], None, "#++ or #* or (#)"),
        ("Nothing to hide.", ["Lima"], None, "Nothing to hide."),
    ],
)
def test_anonymize_examples(utterance, answers, extracted, expected):
    assert anonymize(utterance, answers, extracted, mask="#") == expected


def test_anonymize_default_mask_and_extracted_only():
    out = anonymize("I'd go with Cusco, not Lima.", ["Lima"], extracted="Cusco")
    assert out == "I'd go with [ANSWER REMOVED], not [ANSWER REMOVED]."


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéüñø", min_size=2, max_size=8)


@FUZZ
@given(
    words=st.lists(WORD, min_size=1, max_size=3),
    before=st.lists(WORD, max_size=5),
    after=st.lists(WORD, max_size=5),
    sep=st.sampled_from([" ", "-", ", ", "  ", ". ", "'"]),
    style=st.sampled_from([str.lower, str.upper, str.title]),
)
def test_anonymize_removes_every_alias(words, before, after, sep, style):
    alias = " ".join(words)
    utterance = " ".join([*before, style(sep.join(words)), *after]) + "."
    norm = normalize_answer(alias)
    out = anonymize(utterance, ["unrelated", alias], mask="MASKMASK")
    assert not norm or f" {norm} " not in f" {normalize_answer(out)} "


@FUZZ
@given(st.text(max_size=200), st.lists(st.text(max_size=20), max_size=4), st.text(max_size=20))
def test_anonymize_never_crashes(utterance, answers, extracted):
    assert isinstance(anonymize(utterance, answers, extracted), str)


@FUZZ
@given(st.text(max_size=40))
def test_anonymize_leaves_no_alias_in_arbitrary_text(alias):
    # A mask with letters, like the default, keeps leftover single letters from joining up.
    norm = normalize_answer(alias)
    out = anonymize(f"So {alias} or so", [alias], mask="MASKMASK")
    assert not norm or "maskmask" in norm or f" {norm} " not in f" {normalize_answer(out)} "


def test_anonymize_huge_input_is_fast():
    text = "It is Lima, not Cusco. " * 40_000
    start = time.perf_counter()
    out = anonymize(text, ["Lima", "Washington, D.C."], extracted="Lima")
    assert "Lima" not in out and time.perf_counter() - start < 5.0


# --- wrong variants (issue 24): trivia has no source scorer, so hand-checked cases and the
# embedded items' own distractors (neighbouring entities, numbers off by one)


@pytest.mark.parametrize(
    ("answer", "aliases"),
    [
        ("1944", ["1945"]),  # off by one
        ("1000.0", ["1000"]),  # a number in another form is not an alias
        ("Paris, Texas", ["Paris"]),  # a neighbouring entity's name
        ("George Bush", ["George W. Bush"]),  # another entity's alias
        ("John Adams", ["John Quincy Adams"]),
        ("Mount Everest", ["Everest"]),  # containment is not equality, either way
        ("not Paris", ["Paris"]),
        ("Paris or Lyon", ["Paris"]),
        ("Pariss", ["Paris"]),
    ],
)
def test_wrong_variants_are_rejected(answer, aliases):
    assert not is_correct(answer, aliases)


def test_distractors_of_embedded_items_are_wrong_and_formatting_is_forgiven():
    items = load_embedded()
    distracted = [i for i in items if i.distractors]
    assert len(distracted) > 1000
    for item in distracted:
        gold = item.answers[0]
        assert all(is_correct(a, item.answers) for a in item.answers)
        for lenient in (gold.upper(), f"{gold}.", f"  the {gold} "):
            assert is_correct(lenient, item.answers), (lenient, item.id)
        for wrong in item.distractors:
            assert not is_correct(wrong, item.answers), (wrong, item.id)
