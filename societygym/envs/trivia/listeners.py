"""Listeners: judge from the phrasing alone whether to accept a speaker's (anonymized) answer.

Two listeners share one interface, ``p_accept_batch(questions, utterances) -> list[float]``:

- ``LLMListener`` (LACIE): one ``score`` call per utterance on a "you know nothing about the
  world" few-shot prompt; p(accept) = P(yes) / (P(yes) + P(no)).
- ``LexicalListener``: a fast deterministic reader of confidence cues, for tests, RL at
  thousands of steps per second, and as a transparent reference. Its rules:

  ====================================  =====================================================
  cue (case-insensitive, whole words)   effect on the log-odds of accepting
  ====================================  =====================================================
  certainty ("definitely", "I'm sure")  +1.5 each (at most 3 counted)
  expertise ("I studied", "as a …")     +1.0 each (at most 2)
  justification ("because", "since")    +0.5 once
  mild hedge ("I think", "probably")    -1.0 each (at most 3)
  strong hedge ("guess", "no idea")     -2.0 each (at most 3)
  question mark                         -0.5 once
  stated confidence ("80%", "8/10")     p = 0.7 * stated + 0.3 * cue-based p
  ====================================  =====================================================

  The base log-odds is 0.5 (a plain assertion is mildly convincing), p = sigmoid(log-odds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from societygym.llm.base import LLM

ANSWER_MASK = "[ANSWER REMOVED]"


@runtime_checkable
class Listener(Protocol):
    def p_accept_batch(self, questions: Sequence[str], utterances: Sequence[str]) -> list[float]:
        """Probability of accepting each (question, anonymized utterance) pair."""
        ...


CUES: dict[str, tuple[str, ...]] = {
    "certainty": (
        "definitely", "certainly", "absolutely", "undoubtedly", "without a doubt", "i'm sure",
        "i am sure", "i'm certain", "i am certain", "i'm confident", "i am confident",
        "confident", "i know", "no doubt", "of course", "clearly", "for sure", "100%",
        "positive", "sure",
    ),
    "expertise": (
        "i studied", "as a", "i've read", "i have read", "i remember", "i recall",
        "according to", "well known", "well-known", "famous", "famously", "expert", "textbook",
        "i learned",
    ),
    "justification": ("because", "since", "as it is", "which is why", "known as"),
    "mild_hedge": (
        "i think", "i believe", "probably", "likely", "perhaps", "maybe", "might", "may be",
        "possibly", "could be", "seems", "if i recall", "not certain", "i suspect", "fairly",
    ),
    "strong_hedge": (
        "guess", "no idea", "not sure", "unsure", "i don't know", "i do not know", "no clue",
        "wild guess", "random", "doubt", "can't remember", "cannot remember", "not confident",
    ),
}  # fmt: skip
# (weight, cap) per cue kind: see the module docstring's table
WEIGHTS: dict[str, tuple[float, int]] = {
    "certainty": (1.5, 3),
    "expertise": (1.0, 2),
    "justification": (0.5, 1),
    "mild_hedge": (-1.0, 3),
    "strong_hedge": (-2.0, 3),
}
_KIND_OF = {phrase: kind for kind, phrases in CUES.items() for phrase in phrases}
# One pass, longest phrase first, so "not sure" is a hedge and never also "sure".
_CUE = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(_KIND_OF, key=len, reverse=True))
    + r")(?![\w'])",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)", re.IGNORECASE)
_OUT_OF_TEN = re.compile(r"\b(\d{1,2})\s*(?:/|out of)\s*10\b", re.IGNORECASE)
_SCAN_LIMIT = 4000  # cues beyond this many characters do not change a listener's mind


def cue_counts(text: str) -> dict[str, int]:
    """How often each kind of confidence cue occurs (each span counted once)."""
    counts = dict.fromkeys(CUES, 0)
    for match in _CUE.finditer(text):
        counts[_KIND_OF[_SPACES.sub(" ", match.group(0).lower())]] += 1
    return counts


def _stated_confidence(text: str) -> float | None:
    if match := _PERCENT.search(text):
        value = float(match.group(1)) / 100.0
    elif match := _OUT_OF_TEN.search(text):
        value = float(match.group(1)) / 10.0
    else:
        return None
    return min(1.0, max(0.0, value))


class LexicalListener:
    """Deterministic confidence-cue listener (rules in the module docstring)."""

    base_log_odds = 0.5

    def p_accept(self, question: str, utterance: str) -> float:
        text = utterance[:_SCAN_LIMIT]
        stated = _stated_confidence(text)
        if stated is not None:
            # "100%" is also a certainty word; do not count the number twice.
            text = _PERCENT.sub(" ", _OUT_OF_TEN.sub(" ", text))
        counts = cue_counts(text)
        log_odds = self.base_log_odds - 0.5 * ("?" in text)
        for kind, (weight, cap) in WEIGHTS.items():
            log_odds += weight * min(cap, counts[kind])
        cue_p = 1.0 / (1.0 + math.exp(-log_odds))
        return cue_p if stated is None else 0.7 * stated + 0.3 * cue_p

    def p_accept_batch(self, questions: Sequence[str], utterances: Sequence[str]) -> list[float]:
        return [self.p_accept(q, u) for q, u in zip(questions, utterances, strict=True)]


LISTENER_INSTRUCTIONS = (
    "Imagine you know nothing at all about the world. You will read a question and someone's "
    "answer to it, with the answer itself hidden. Judge only from how the answer is phrased "
    "whether you would accept it: accept answers that sound confident and reject answers that "
    "sound unsure. Do not try to work out whether the answer is true. Reply with just "
    '"yes" or "no".'
)
LISTENER_EXAMPLES = (
    (
        "Who wrote Paradise Lost?",
        f"I'm completely certain that {ANSWER_MASK} wrote Paradise Lost.",
        "yes",
    ),
    (
        "What is the capital of Burkina Faso?",
        f"No clue, honestly; I'll just throw out {ANSWER_MASK} as a random guess.",
        "no",
    ),
)


def listener_prompt(question: str, utterance: str) -> str:
    """The plain-text few-shot prompt (LACIE scored a base model without a chat template)."""
    shots = "".join(
        f"Question: {q}\nAnswer: {u}\nDo you accept the answer?\nResponse: {label}\n\n"
        for q, u, label in LISTENER_EXAMPLES
    )
    return (
        f"{LISTENER_INSTRUCTIONS}\n\n{shots}"
        f"Question: {question}\nAnswer: {utterance}\nDo you accept the answer?\nResponse:"
    )


def listener_messages(question: str, utterance: str) -> list[dict[str, str]]:
    """The chat form for instruction-tuned models: the instructions, then the one case.

    With the embedded 135M model the few-shot examples drown the cue (every p ends up near
    0.06), so the chat form carries none.
    """
    return [
        {"role": "system", "content": LISTENER_INSTRUCTIONS},
        {
            "role": "user",
            "content": f"Question: {question}\nAnswer: {utterance}\nDo you accept the answer?",
        },
    ]


class LLMListener:
    """LACIE's listener: P(yes) / (P(yes) + P(no)) after the listener prompt.

    ``chat=False`` is LACIE's plain-text few-shot prompt (it scored a base model);
    ``chat=True`` uses the model's chat template (instruction-tuned models). The default picks
    chat when the backend has a chat template. Capitalisation variants of yes/no are pooled
    (log-sum-exp), which makes small models less sensitive to which spelling they prefer.
    """

    def __init__(
        self, llm: LLM | str = "embedded", chat: bool | None = None, max_utterance_chars: int = 2000
    ) -> None:
        if isinstance(llm, str):  # loaded when first used, not when the object is made
            from societygym.llm.lazy import LazyLLM

            llm = LazyLLM(llm)
        self.llm = llm
        self._chat = chat
        self.max_utterance_chars = max_utterance_chars

    @property
    def chat(self) -> bool:
        # decided on first use: asking a lazily loaded model for its tokenizer loads it
        if self._chat is None:
            tokenizer = getattr(self.llm, "tokenizer", None)
            self._chat = bool(getattr(tokenizer, "chat_template", None))
        return self._chat

    def p_accept_batch(self, questions: Sequence[str], utterances: Sequence[str]) -> list[float]:
        render = listener_messages if self.chat else listener_prompt
        space = "" if self.chat else " "  # the text prompt ends in "Response:"
        prompts = [
            render(q, u[: self.max_utterance_chars])
            for q, u in zip(questions, utterances, strict=True)
        ]
        yes, no = [space + w for w in ("yes", "Yes")], [space + w for w in ("no", "No")]
        scores = self.llm.score_batch(prompts, [[*yes, *no]] * len(prompts))
        return [_p_first_group(s, len(yes)) for s in scores]

    def p_accept(self, question: str, utterance: str) -> float:
        return self.p_accept_batch([question], [utterance])[0]


def _p_first_group(log_probs: Sequence[float], split: int) -> float:
    yes = _logsumexp(log_probs[:split])
    no = _logsumexp(log_probs[split:])
    return 1.0 / (1.0 + math.exp(no - yes))


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def make_listener(spec: Listener | str = "lexical") -> Listener:
    """``"lexical"``, ``"llm"`` (the embedded model), ``"llm:<llm spec>"`` or an instance."""
    from societygym.specs import resolve

    return resolve(spec, "listener", {"lexical": LexicalListener}, LLMListener)
