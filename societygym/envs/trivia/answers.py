"""Answer handling for trivia: normalisation, grading, extraction and anonymisation.

Grading follows the TriviaQA convention (normalised exact match against any alias) with
two relaxations applied identically to answers and aliases: accents are folded
("Bogotá" == "Bogota") and spelled-out acronyms are joined ("D.C." == "DC").
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: grading must not pull in the LLM package
    from societygym.llm.base import LLM, Prompt

__all__ = [
    "AnswerExtractor",
    "LLMAnswerExtractor",
    "RuleBasedExtractor",
    "anonymize",
    "extract_answer",
    "is_correct",
    "normalize_answer",
]

# ---------------------------------------------------------------------------
# Normalisation and grading
# ---------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NON_WORD = re.compile(r"[^\w\s]|_")
_ARTICLES = frozenset({"a", "an", "the"})


def _fold(text: str) -> str:
    """Case-fold and drop combining marks, so neither case nor accents decide correctness."""
    if text.isascii():  # no marks to drop, and ASCII case-folding is lowercasing
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _tokens(text: str) -> list[str]:
    text = _APOSTROPHES.sub("", _fold(text))  # "Sana'a" == "Sanaa"
    text = _THOUSANDS_COMMA.sub("", text)  # "1,000" == "1000"
    joined: list[str] = []
    in_run = False
    for tok in _NON_WORD.sub(" ", text).split():
        # A run of single letters is a spelled-out acronym ("u s a" -> "usa"); joining
        # happens before article removal so the "a" of "U.S.A." survives.
        single = len(tok) == 1 and tok.isalpha()
        if single and in_run:
            joined[-1] += tok
        else:
            joined.append(tok)
        in_run = single
    return [t for t in joined if t not in _ARTICLES]


@functools.lru_cache(maxsize=1 << 16)  # aliases are normalised again on every episode
def normalize_answer(text: str) -> str:
    """TriviaQA-style normal form: case-folded, accents dropped, apostrophes removed, other
    punctuation and ``_`` as spaces, single-letter runs joined, articles dropped, whitespace
    collapsed."""
    return " ".join(_tokens(text))


def is_correct(answer: str | None, aliases: Sequence[str]) -> bool:
    """True when ``answer`` equals some alias after :func:`normalize_answer`.

    The rule is exact equality of normal forms, never a substring test, so "Lima, Peru" does
    not match "Lima". ``None`` (an abstention) and answers that normalise to nothing are wrong.
    """
    if answer is None:
        return False
    norm = normalize_answer(answer)
    return bool(norm) and any(norm == normalize_answer(alias) for alias in aliases)


# ---------------------------------------------------------------------------
# Rule-based extraction
# ---------------------------------------------------------------------------

_MAX_CHARS = 4000  # bounds the work on pathological inputs; answers come early in practice
_MAX_SENTENCES = 30
_MAX_ANSWER_WORDS = 10
_MAX_ANSWER_CHARS = 200
_MAX_SPLITS = 40  # copulas or clauses looked at per sentence
_WINDOW = 300  # characters either side of a copula


def _alternation(phrases: Sequence[str]) -> str:
    return "|".join(sorted(phrases, key=len, reverse=True))


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SURE = r"(?:sure|certain|confident|positive)"
_DEGREE = (
    r"(?:(?:fairly|pretty|quite|very|reasonably|somewhat|almost|absolutely|completely|totally"
    r"|not entirely|not completely|not totally|\d{1,3}\s*%)\s+)?"
)
_HEDGES = [
    "definitely", "certainly", "surely", "absolutely", "clearly", "obviously", "undoubtedly",
    "probably", "possibly", "maybe", "perhaps", "likely", "most likely", "very likely",
    "almost certainly", "presumably", "i think", "i believe", "i guess", "i suppose",
    "i reckon", "i feel like", "i'd guess", "i'd say", "i would say", "i'd go with",
    "i would go with", "i'll go with", "i will go with", "i'm going with", "going with",
    "i'm going to say", "i want to say", "i'm guessing", "i'm thinking", "i recall",
    "i remember", "i know", rf"i'?m {_DEGREE}{_SURE}(?: that)?",
    rf"i am {_DEGREE}{_SURE}(?: that)?", rf"{_DEGREE}{_SURE}(?: that)?",
    r"i(?:'?ll|'?d| will| would)(?: just| have to| probably| tentatively| randomly| simply"
    r"| blindly| go ahead and)? (?:throw out|go with|say|guess|put|pick|answer|bet on"
    r"|put my money on|choose|offer)",
    r"i'?m (?:going to|gonna) (?:go with|say|guess)", r"let me (?:say|go with|guess)",
    r"if i (?:had to|have to|must) guess",
    r"if i recall(?: correctly)?", r"if i remember(?: correctly| right)?",
    r"if memory serves(?: me)?", r"as far as i (?:know|remember|recall)",
    r"to (?:the best of )?my knowledge", "from memory", "off the top of my head",
    "in my opinion", "without a doubt", "no doubt(?: about it)?", "either",
    r"i'?d lean (?:towards?|to)", "leaning towards?",
    r"(?:around|about|approximately|roughly|circa|nearly)(?= \d)",
    r"(?:written|painted|composed|invented|discovered|founded|directed|built|designed|sung) by",
]  # fmt: skip
_LEAD_ONLY = [
    "well", "h+m+", "u+m+", "u+h+", "erm?", "a+h+", "o+h+", "ok(?:ay)?", "so", "yes", "yeah",
    "alright", "sure", "honestly", "frankly", "actually", "basically", "sorry", "but", "and",
    "though", "then", "hello", "hi", "let me think", "let me see", "let's see",
    r"(?:(?:that's|this is) an? |an? )?(?:tough|hard|tricky|good|great|difficult|interesting|easy)"
    r" (?:one|question)",
    "that", "it'?s", "it is", "its", "that'?s", "that is", "this is", "this'?s",
    "there'?s", "here'?s", "it'?d be", r"it (?:must|should|could|might|may|will|would) be",
    r"(?:must|should|could|might|may|would|will) be", "called", "named", "known as",
    r"my (?:best |final |honest |educated |first |gut )?(?:guess|answer|bet|pick|choice|instinct"
    r"|gut|hunch|money)(?: (?:is|would be|will be|says|tells me|feeling is|goes to|is on))?",
    r"the (?:correct |right |final )?answer(?: (?:is|would be|will be|should be|must be))?",
    r"(?:final )?answer", "guess",
]  # fmt: skip
_TRAIL_ONLY = [
    "i think", "i believe", "i guess", "i suppose", "i reckon", "i'd say", "i would say",
    "i'd guess", "i'm guessing", "for sure", "for certain", "at a guess", "or so", "anyway",
    "though", "of course", "as i recall", r"if i'?m not mistaken", r"if i recall(?: correctly)?",
    r"if i remember(?: correctly| right)?", rf"i'?m {_DEGREE}{_SURE}", rf"i am {_DEGREE}{_SURE}",
    r"(?:is|would be) (?:my|the) (?:best |final )?(?:guess|answer|bet)", "is the answer",
    r"(?:with|at) (?:about |around |roughly )?\d{1,3}(?:\.\d+)?\s*(?:%|percent)"
    r"(?: (?:confidence|certainty|sure|certain|confident))?",
    "probably", "maybe", "perhaps", "possibly", "definitely", "certainly", "no doubt(?: about it)?",
    r"as (?:a|my) (?:random |wild |rough |best |educated |blind )?guess",
    r"(?:but )?don'?t quote me(?: on (?:that|it))?", "here", "then", "again", "this time",
    r"(?:on|for) this one", r"(?:wrote|did|said|painted|invented|discovered) (?:it|this|that)",
]  # fmt: skip

# Short all-caps words are codes ("IS" for Iceland, "NO" for Norway), never fillers or
# function words; (?-i:...) keeps that test case-sensitive inside the case-blind patterns.
_CODE = r"(?-i:(?!OK\b|HMM\b|UM\b|UH\b)[A-Z]{2,3}\b)"
_LEAD = re.compile(
    rf"(?!{_CODE})(?:{_alternation(_HEDGES + _LEAD_ONLY)})(?![\w'])[\s,:.!\-]*", re.I
)
_TRAIL = re.compile(rf"[\s,]+(?!{_CODE})(?:{_alternation(_TRAIL_ONLY)})[\s.!?]*$", re.I)
_CODE_WORD = re.compile(rf"\b{_CODE}")
# When the question asks for a symbol or code, short capitalised words ("In", "No", "I")
# are answers too.
_ASKS_FOR_CODE = re.compile(r"\b(?:symbol|code|abbreviation|initials|acronym)s?\b", re.I)
_SYMBOL_WORD = re.compile(rf"\b(?:{_CODE}|(?-i:[A-Z][a-z]?\b))")
_ASIDE = re.compile(r"\([^()]{0,200}\)")  # "Lima (confidence: 80%)", "Cocos (Keeling) Islands"
_WRAP = " \t\"'“”‘’«»*_`~#>-:;,.!?…()[]{}"

# Clause boundaries: punctuation, spaced or long dashes, and conjunctions that start a new
# thought. Commas between digits ("1,000") or before initials ("Washington, D.C.") and
# unspaced hyphens ("Port-au-Prince") are kept.
_BOUNDARY = re.compile(
    r"(?:(?<!\d),|,(?!\d))(?!\s*(?-i:[A-Z]\.[A-Z]\.))|[;!?()\[\]{}…:]|\s[-–—]+\s|—|--"
    r"|\s(?:but|because|since|although|though|which|whereas|while|so|or|if|unless|as far as"
    r"|and i|and it|and that|given|considering|judging|according)\s"
    # a period before a new sentence that the abbreviation rule kept together ("D.C. I think")
    r"|\.\s+(?-i:(?=(?:I|It|This|That|My|We|But|And|So|Though|Also|Because|Not)\b))",
    re.I,
)
# A copula or colon splits "subject | predicate"; "'s" counts only after pronouns, so the
# possessive in "Peru's capital" does not split.
_COPULA = re.compile(
    r"\s(?!(?-i:[A-Z]{2}))(?:is|are|was|were)\s|\b(?:it|that|this|there|here|what|which)'s\s"
    r"|\s(?:would|will|must|should|could|might|may)\s+(?:be|have been)\s|'d be\s|:\s*",
    re.I,
)
_NEGATED = re.compile(r"(?:not|n't|never|no longer)\b", re.I)
_ABSTAIN = re.compile(
    r"\b(?:no idea|no clue|not sure|unsure|(?:don'?t|do not|dont) know|idk|dunno|not certain"
    r"|uncertain|(?:can'?t|cannot|can not|couldn'?t|could not) (?:say|tell|answer|recall"
    r"|remember|be sure)|beats me|who knows|rather not|not confident|no answer|haven'?t a clue"
    r"|have no guess|no guess)\b",
    re.I,
)
_ABSTAIN_WHOLE = _words("pass none unknown nothing na nope skip no")  # unless written as a code
_REMARK_START = _words(
    "i i'm im i'd i've i'll we you he she they it this that these those there my me let let's"
    " what which who how why where when as is are was were"
)
_STOP = _words(
    "a an the of in on at to for by with as from and or what which who whom whose where when"
    " how is are was were be does do did has have had its it this that called named known about"
)
_META = _words(
    "answer guess best final my i think believe sure certain confident probably definitely"
    " maybe perhaps correct correctly right wrong mistaken incorrect say would id im pretty"
    " fairly quite very confidence wild random rough educated blind shot hunch feeling"
)
_CONFIDENCE_WORD = r"(?:confidence|certainty|probability|likelihood|chance)(?: level)?"
_CONFIDENCE_LABEL = re.compile(rf"(?:{_CONFIDENCE_WORD}|sure|certain)\s*$", re.I)
_CONFIDENCE_SENTENCE = re.compile(rf"\W*(?:my |our )?{_CONFIDENCE_WORD}\b", re.I)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_ABBREVIATION = re.compile(r"\b(?:[a-z]|st|mt|ft|dr|mr|mrs|ms|jr|sr|vs|[a-z](?:\.[a-z])+)$", re.I)


def _sentences(text: str) -> list[str]:
    """Split on sentence ends, except a single "." after an abbreviation ("D.C.", "St.")."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        window = max(start, m.start() - 16)  # abbreviations are short; keeps this linear
        if m.group() == "." and _ABBREVIATION.search(text, window, m.start()):
            continue
        out.append(text[start : m.end()])
        start = m.end()
        if len(out) >= _MAX_SENTENCES:
            break
    else:
        out.append(text[start:])
    return [s for s in (s.strip() for s in out) if s]


def _strip_fillers(text: str) -> str:
    for _ in range(12):  # each pass removes one filler; bounded for safety
        before = text
        text = text.strip(_WRAP)
        if m := _LEAD.match(text):
            text = text[m.end() :]
        text = _TRAIL.sub("", text)
        if text == before:
            break
    return " ".join(text.strip(_WRAP).split())


def _first_clause(text: str) -> str:
    m = _BOUNDARY.search(text)
    return text[: m.start()] if m else text


def _last_clause(text: str) -> str:
    parts = _BOUNDARY.split(text)
    return parts[-1] if parts else text


def _content(text: str, ignore: frozenset[str], code: re.Pattern[str] = _CODE_WORD) -> set[str]:
    """Normalised tokens of ``text`` outside ``ignore``; codes ("IS", "NO") always count."""
    codes = {w.lower() for w in code.findall(text)}
    return {t for t in _tokens(text) if t not in ignore or t in codes}


def _restates(text: str, asked: set[str]) -> bool:
    content = _content(text, _STOP | _META)
    return bool(content) and len(content & asked) >= len(content - asked)


def _is_remark(text: str, single: bool = False) -> bool:
    """Whether ``text`` opens with a pronoun, wh-word or copula and goes on ("I studied
    chemistry", "what I remember"), so is a remark, not an answer; with ``single``, whether
    it is such a word at all ("it")."""
    words = text.lower().split()
    return bool(words) and words[0] in _REMARK_START and (single or len(words) > 1)


def _after_question_words(clause: str, asked: set[str]) -> list[str]:
    """For a clause that restates the question before answering ("Neon has atomic number
    10"), the short tail after the last question word, then the clause itself."""
    words = clause.split()
    hits = [i for i, w in enumerate(words) if set(_tokens(w)) & asked]
    rest = words[hits[-1] + 1 :] if len(hits) >= 2 else []
    return [" ".join(rest), clause] if 0 < len(rest) <= 3 else [clause]


class RuleBasedExtractor:
    """Pulls the committed answer out of a free-form utterance with hand-written rules.

    Rules, applied to the first 4,000 characters:

    1. Parenthetical asides are dropped ("Lima (confidence: 80%)"), then the text is cut
       into sentences (a "." after an abbreviation such as "D.C." or "St." does not end
       one). Sentences are tried in order and the first answer found wins; a sentence that
       opens with a confidence label ("Confidence: 80%.") is skipped.
    2. In a sentence, each copula or colon ("X is Y", "it's Y", "would be Y", "Answer: Y")
       offers the predicate Y (up to the next clause boundary) and then the subject X (the
       clause just before it), or the subject first when Y mostly restates the question
       ("Ottawa is the capital city of Canada"). A negated predicate ("not Cusco"), a
       pronoun subject ("it") and a confidence-label subject are skipped.
    3. Then each clause of the sentence (split at , ; : ! ? dashes and conjunctions such as
       "but", "because", "or") is a candidate, unless it starts with a pronoun ("I studied
       chemistry") or a negation. A clause that restates the question before answering
       ("Neon has atomic number 10") first offers its short tail ("10").
    4. A candidate is cleaned of hedges and fillers at either end ("probably", "I think",
       "I'm fairly sure", "it's", "my best guess is", "with 80% confidence"), quotes, markdown
       and trailing punctuation. It is rejected when empty, longer than ten words, an
       abstention ("no idea", "I don't know", "pass", "unknown"), or made only of function
       and meta words ("my answer", "wrong"). Short all-caps words are codes ("IS", "NO"),
       never function words, and so are capitalised one- or two-letter words ("In", "I")
       when the question asks for a symbol, code or abbreviation.
    5. A candidate whose content words all appear in the question ("the capital of Peru") is
       kept only as a last resort, so echoes of the question lose to real answers while
       answers that repeat a question word ("Djibouti" for Djibouti's capital) survive.

    Returns ``None`` when nothing survives: an abstention.
    """

    def __call__(self, utterance: str, question: str | None = None) -> str | None:
        if not isinstance(utterance, str):
            return None
        text = _ASIDE.sub(" ", _APOSTROPHES.sub("'", utterance[:_MAX_CHARS]))
        question = question[:_MAX_CHARS] if isinstance(question, str) else None
        asked = _content(question, _STOP) if question else set()
        code = _SYMBOL_WORD if question and _ASKS_FOR_CODE.search(question) else _CODE_WORD
        fallback: str | None = None
        for sentence in _sentences(text):
            for candidate in self._candidates(sentence, asked):
                verdict = self._judge(candidate, asked, code)
                if verdict == "good":
                    return candidate
                if verdict == "echo" and fallback is None:
                    fallback = candidate
        return fallback

    def extract_batch(
        self, utterances: Sequence[str], questions: Sequence[str | None] | None = None
    ) -> list[str | None]:
        questions = _questions_for(utterances, questions)
        return [self(u, q) for u, q in zip(utterances, questions, strict=True)]

    @staticmethod
    def _candidates(sentence: str, asked: set[str]) -> list[str]:
        if _CONFIDENCE_SENTENCE.match(sentence):  # "Confidence: 80%."
            return []
        out: list[str] = []
        # Windows and caps keep the work linear on pathological sentences ("is is is ...").
        for m in itertools.islice(_COPULA.finditer(sentence), _MAX_SPLITS):
            subject = _strip_fillers(
                _last_clause(sentence[max(0, m.start() - _WINDOW) : m.start()])
            )
            if _CONFIDENCE_LABEL.search(subject):
                continue
            predicate = _strip_fillers(_first_clause(sentence[m.end() : m.end() + _WINDOW]))
            pair = [] if _NEGATED.match(predicate) or _is_remark(predicate) else [predicate]
            if not _is_remark(subject, single=True):
                # "Ottawa is the capital city of Canada": a predicate that mostly restates
                # the question yields to the subject.
                pair.insert(0 if pair and _restates(pair[0], asked) else len(pair), subject)
            out.extend(pair)
        for clause in itertools.islice(_BOUNDARY.split(sentence), _MAX_SPLITS):
            clause = _strip_fillers(clause or "")
            if _is_remark(clause) or _NEGATED.match(clause):
                continue
            out.extend(_after_question_words(clause, asked))
        return out

    @staticmethod
    def _judge(candidate: str, asked: set[str], code: re.Pattern[str]) -> str:
        words = candidate.split()
        if not words or len(words) > _MAX_ANSWER_WORDS or len(candidate) > _MAX_ANSWER_CHARS:
            return "bad"
        if _ABSTAIN.search(candidate):
            return "bad"
        if not code.fullmatch(candidate) and normalize_answer(candidate) in _ABSTAIN_WHOLE:
            return "bad"
        content = _content(candidate, _STOP | _META, code)
        if not content:
            return "bad"
        return "good" if content - asked else "echo"


def _questions_for(
    utterances: Sequence[str], questions: Sequence[str | None] | None
) -> Sequence[str | None]:
    if questions is None:
        return [None] * len(utterances)
    if len(questions) != len(utterances):
        raise ValueError(f"{len(utterances)} utterances but {len(questions)} questions")
    return questions


_RULES = RuleBasedExtractor()


def extract_answer(utterance: str, question: str | None = None) -> str | None:
    """The answer committed to in ``utterance``, or ``None`` for an abstention.

    A thin wrapper over :class:`RuleBasedExtractor`; see it for the rules.
    """
    return _RULES(utterance, question)


# ---------------------------------------------------------------------------
# LLM extraction
# ---------------------------------------------------------------------------

_INSTRUCTION = (
    "Each reply below answers a trivia question. Write the one answer the reply commits to, "
    "copied as the speaker wrote it but without hedges, confidence talk or explanations. "
    "If the reply gives no answer, write NONE."
)
_EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("Who painted the Mona Lisa?", "Pretty sure that was Leonardo da Vinci.", "Leonardo da Vinci"),
    ("What is the largest planet in the Solar System?", "Honestly, I couldn't tell you.", "NONE"),
    ("How many legs does a spider have?", "Eight, if I remember my biology class.", "Eight"),
    (
        "Which river flows through Cairo?",
        "It might be the Tigris, but my gut says the Nile. I'll say the Nile.",
        "the Nile",
    ),
    ("In which country is Timbuktu?", "No clue, sorry.", "NONE"),
)


class LLMAnswerExtractor:
    """Asks a language model to extract the committed answer (few-shot, greedy decoding).

    Works with any object following :class:`societygym.llm.base.LLM`. The model replies with
    the answer or ``NONE``; ``NONE`` and empty replies become ``None``.
    """

    def __init__(self, llm: LLM, *, max_tokens: int = 12) -> None:
        self.llm = llm
        self.max_tokens = max_tokens

    def __call__(self, utterance: str, question: str | None = None) -> str | None:
        return self.extract_batch([utterance], [question])[0]

    def extract_batch(
        self, utterances: Sequence[str], questions: Sequence[str | None] | None = None
    ) -> list[str | None]:
        questions = _questions_for(utterances, questions)
        if not utterances:
            return []
        prompts = [self.prompt(u, q) for u, q in zip(utterances, questions, strict=True)]
        outputs = self.llm.generate(
            prompts, n=1, max_tokens=self.max_tokens, temperature=0.0, stop=["\n"]
        )
        return [_parse_llm_answer(gens[0].text if gens else "") for gens in outputs]

    @staticmethod
    def prompt(utterance: str, question: str | None = None) -> Prompt:
        shots = "".join(f"Question: {q}\nReply: {r}\nAnswer: {a}\n\n" for q, r, a in _EXAMPLES)
        reply = " ".join(str(utterance)[:_MAX_CHARS].split())
        asked = question or "(not given)"
        return f"{_INSTRUCTION}\n\n{shots}Question: {asked}\nReply: {reply}\nAnswer:"


def _parse_llm_answer(text: str) -> str | None:
    line = text.strip().split("\n", 1)[0]
    line = re.sub(r"^answer\s*:\s*", "", line.strip(), flags=re.I).strip(_WRAP)
    if not line or line.upper().startswith("NONE"):
        return None
    return line


class AnswerExtractor(Protocol):
    """What envs accept: the rule-based and LLM extractors both fit."""

    def __call__(self, utterance: str, question: str | None = None) -> str | None: ...

    def extract_batch(
        self, utterances: Sequence[str], questions: Sequence[str | None] | None = None
    ) -> list[str | None]: ...


# ---------------------------------------------------------------------------
# Anonymisation
# ---------------------------------------------------------------------------


def _fold_with_origin(text: str) -> tuple[str, Sequence[int]]:
    """Folded text plus, for each folded character, the index of its source character."""
    if text.isascii():  # fast path: folding is lowercasing and keeps positions
        return text.lower(), range(len(text))
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold(ch)
        chars.append(folded)
        origin.extend([i] * len(folded))
    return "".join(chars), origin


def _token_pattern(token: str) -> str:
    """A normalised token as written: apostrophes anywhere ("Sana'a"), thousands commas
    ("1,000"), or, for letters, spelled out one by one ("D.C.", "U. S. A.")."""
    written = [re.escape(token[0])]
    for prev, ch in itertools.pairwise(token):
        written.append("[,'’‘`´ʼ]*" if prev.isdigit() and ch.isdigit() else "['’‘`´ʼ]*")
        written.append(re.escape(ch))
    if len(token) < 2 or not token.isalpha():
        return "".join(written)
    spelled = r"[\W_]+".join(re.escape(ch) for ch in token)
    return f"(?:{''.join(written)}|{spelled})"


# Separators between tokens, plus any articles there, which the normal form drops.
_GAP = rf"[\W_]+(?:(?:{'|'.join(map(_token_pattern, sorted(_ARTICLES)))})[\W_]+)*"


@functools.lru_cache(maxsize=1 << 14)
def _alias_pattern(alias: str) -> re.Pattern[str] | None:
    tokens = _tokens(alias)
    if not tokens:
        return None
    body = _GAP.join(_token_pattern(t) for t in tokens)
    # Word boundaries, except that "ʼ" (a letter to the regex, an apostrophe to the grader)
    # may touch the alias.
    return re.compile(rf"(?<![^\W_ʼ])(?:{body})(?![^\W_ʼ])")


def anonymize(
    utterance: str,
    answers: Sequence[str],
    extracted: str | None = None,
    mask: str = "[ANSWER REMOVED]",
) -> str:
    """Replace every mention of the extracted answer and of every gold alias with ``mask``.

    Matching is on folded text (case and accents ignored), at word boundaries, and tolerant
    of the variants the grader treats as equal: punctuation and spacing ("Washington, D.C."
    vs "Washington DC"), apostrophes, thousands commas and articles. Matches of all aliases
    are merged before replacing, so a long alias is masked whole even when a shorter one
    sits inside it, and the mask text is never searched again.
    """
    folded, origin = _fold_with_origin(utterance)
    spans: list[tuple[int, int]] = []
    for alias in {a for a in (extracted, *answers) if a}:
        pattern = _alias_pattern(alias)
        if pattern is not None:
            spans.extend(
                (origin[m.start()], origin[m.end() - 1] + 1) for m in pattern.finditer(folded)
            )
    if not spans:
        return utterance
    pieces: list[str] = []
    cursor = 0
    for start, end in _merge(spans):
        pieces.append(utterance[cursor:start])
        pieces.append(mask)
        cursor = end
    pieces.append(utterance[cursor:])
    return "".join(pieces)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
