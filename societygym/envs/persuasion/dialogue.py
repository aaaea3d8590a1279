"""A discussion of one question between two agents, each agent's answer under its own key.

Answers change only on the speaker's own turn. An utterance that states an answer sets it;
one that only agrees ("You're right.") takes over the partner's answer; one with no answer
("I disagree.") keeps the speaker's previous answer. These are PBT's Agree/Disagree rules;
keeping answers in a dict keyed by agent avoids the original's swapped answer slots.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from societygym.envs.trivia.answers import AnswerExtractor, is_correct, normalize_answer
from societygym.envs.trivia.data import TriviaItem

AGENTS = ("agent_0", "agent_1")
STATED, AGREED, KEPT = "stated", "agreed", "kept"  # how a turn set the speaker's answer
RIGHT_TO_WRONG, WRONG_TO_RIGHT, WRONG_TO_WRONG = (
    "right_to_wrong",
    "wrong_to_right",
    "wrong_to_wrong",
)

# The last "Answer: X" line wins over the rest of the utterance: agents are asked to end so.
# "Answer: X" opening a line or a sentence ("Canberra? No. Answer: Sydney" states Sydney)
_EXPLICIT = re.compile(
    r"(?:^|(?<=[.!?;,])\s)[\W_]*(?:my\s+)?(?:final\s+)?answer\s*[:=]\s*(.*?)\s*$", re.I | re.M
)
_AGREES = re.compile(
    r"\b(?:i (?:now |fully |completely |totally )?agree|agreed|you(?:'re| are) (?:right|correct)"
    r"|i stand corrected|i concede|i was wrong|fair enough)\b",
    re.I,
)
_DISAGREES = re.compile(r"\b(?:disagree|(?:don'?t|do not) agree|not (?:right|correct))\b", re.I)
# What an LLM extractor may return for an utterance that only agrees (PBT's "Agree").
_AGREE_WORDS = frozenset({"agree", "i agree", "agreed"})
# A rule-based extractor may return the agreement itself ("You're right"): an answer made
# only of these words is no answer.
_AGREEMENT_TOKENS = frozenset(
    {"i", "now", "fully", "completely", "totally", "agree", "agreed", "you", "youre", "are",
     "right", "correct", "stand", "corrected", "concede", "was", "wrong", "fair", "enough",
     "absolutely", "yes", "indeed", "ok", "okay", "well"}
)  # fmt: skip


# The prompts' own template, "Answer: <your answer>" (any "<...>" slot): a policy that echoes
# the instructions has not answered "<your answer>".
_PLACEHOLDER = re.compile(r"^\W*<[^<>]*>?\W*$")
_PLACEHOLDER_LINE = re.compile(r"""["']?\b(?:final\s+)?answer\s*[:=]\s*<[^<>\n]*>?["']?""", re.I)


def explicit_answer(text: str) -> str | None:
    """The content of the utterance's last "Answer: X" line, if it has one (a template
    placeholder such as ``<your answer>`` is none)."""
    matches = [m for m in _EXPLICIT.findall(text) if not _PLACEHOLDER.match(m)]
    return matches[-1] if matches else None


def extract_answers(
    texts: Sequence[str], questions: Sequence[str], extractor: AnswerExtractor
) -> list[str | None]:
    """The answer each utterance states, in one batched extractor call: an explicit
    "Answer: X" line is read alone (so "Answer: I don't know" abstains), otherwise the whole
    utterance without any echoed "Answer: <your answer>" template."""
    inputs = [
        e if (e := explicit_answer(t)) is not None else _PLACEHOLDER_LINE.sub("", t) for t in texts
    ]
    return extractor.extract_batch(inputs, list(questions))


def signals_agreement(text: str, extracted: str | None) -> bool:
    """Whether an utterance concedes to the partner without naming an answer of its own."""
    text = text.replace("’", "'")
    if _DISAGREES.search(text):
        return False
    norm = normalize_answer(extracted) if extracted is not None else ""
    if norm in _AGREE_WORDS:
        return True
    return bool(_AGREES.search(text)) and set(norm.split()) <= _AGREEMENT_TOKENS


def same_answer(a: str | None, b: str | None, aliases: Sequence[str]) -> bool:
    """Equal after normalisation, or both correct (two aliases of the gold answer)."""
    if a is None or b is None:
        return False
    norm_a = normalize_answer(a)
    if norm_a and norm_a == normalize_answer(b):
        return True
    return is_correct(a, aliases) and is_correct(b, aliases)


@dataclass(frozen=True)
class Turn:
    """One utterance and everyone's answer after it."""

    speaker: str
    text: str
    answers: Mapping[str, str | None]
    how: str  # STATED, AGREED or KEPT
    opening: bool  # an independent first answer, given before seeing the partner's

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "text": self.text,
            "answers": dict(self.answers),
            "how": self.how,
            "opening": self.opening,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Turn:
        return cls(
            data["speaker"], data["text"], dict(data["answers"]), data["how"], data["opening"]
        )


class Dialogue:
    """The turns of a discussion about ``item`` between the two ``agents``."""

    def __init__(
        self, item: TriviaItem, agents: Sequence[str] = AGENTS, turns: Sequence[Turn] = ()
    ) -> None:
        if len(agents) != 2 or agents[0] == agents[1]:
            raise ValueError(f"a dialogue needs two distinct agents, got {agents!r}")
        self.item = item
        self.agents = tuple(agents)
        self.turns = list(turns)

    def partner_of(self, agent: str) -> str:
        return self.agents[1] if agent == self.agents[0] else self.agents[0]

    def answer(self, agent: str) -> str | None:
        return self.turns[-1].answers[agent] if self.turns else None

    def correct(self, agent: str) -> bool:
        return is_correct(self.answer(agent), self.item.answers)

    def agreed(self) -> bool:
        return same_answer(*(self.answer(a) for a in self.agents), self.item.answers)

    def add(self, speaker: str, text: str, extracted: str | None, opening: bool = False) -> Turn:
        """Record ``speaker`` saying ``text``, whose extracted answer is ``extracted``."""
        return self.add_together([(speaker, text, extracted)], opening)[0]

    def add_together(
        self, said: Sequence[tuple[str, str, str | None]], opening: bool = False
    ) -> list[Turn]:
        """Record ``(speaker, text, extracted)`` utterances made at the same time: each one
        answers what the partner had said before, not the partner's simultaneous reply."""
        before = self.turns[-1].answers if self.turns else dict.fromkeys(self.agents)
        answers = dict(before)
        turns = []
        for speaker, text, extracted in said:
            answer, how = self._resolve(speaker, text, extracted, before, opening)
            answers[speaker] = answer
            turns.append(Turn(speaker, text, dict(answers), how, opening))
        self.turns.extend(turns)
        return turns

    def _resolve(
        self,
        speaker: str,
        text: str,
        extracted: str | None,
        before: Mapping[str, str | None],
        opening: bool,
    ) -> tuple[str | None, str]:
        if opening:
            return extracted, STATED if extracted is not None else KEPT
        if signals_agreement(text, extracted):
            # Agreeing with a partner who named no answer (a challenger) changes nothing.
            conceded = before[self.partner_of(speaker)]
            return (conceded, AGREED) if conceded is not None else (before[speaker], KEPT)
        if extracted is not None:
            return extracted, STATED
        return before[speaker], KEPT

    def own_answers(self, agent: str) -> list[str | None]:
        """The agent's answer after each of its own turns."""
        return [t.answers[agent] for t in self.turns if t.speaker == agent]

    def flips(self, agent: str) -> list[dict[str, Any]]:
        """Every change of the agent's answer, with its kind (right/wrong before and after)."""
        aliases = self.item.answers
        flips = []
        previous: str | None = None
        for index, turn in enumerate(self.turns):
            answer = turn.answers[agent]
            if turn.speaker != agent or answer is None:
                continue
            if previous is not None and not same_answer(previous, answer, aliases):
                before, after = is_correct(previous, aliases), is_correct(answer, aliases)
                kind = RIGHT_TO_WRONG if before else WRONG_TO_RIGHT if after else WRONG_TO_WRONG
                flips.append({"turn": index, "from": previous, "to": answer, "kind": kind})
            previous = answer
        return flips

    def history(self, viewer: str) -> list[tuple[bool, str]]:
        """``(spoken by viewer, text)`` pairs as the viewer lived them: its own opening first,
        then the partner's, then the discussion in order."""
        openings = [t for t in self.turns if t.opening]
        ordered = [t for t in openings if t.speaker == viewer]
        ordered += [t for t in openings if t.speaker != viewer]
        ordered += [t for t in self.turns if not t.opening]
        return [(t.speaker == viewer, t.text) for t in ordered]

    def transcript(self, viewer: str) -> str:
        lines = [f"Question: {self.item.question}"]
        if self.turns:
            lines.append("")
            lines += [f"{'You' if m else 'Partner'}: {text}" for m, text in self.history(viewer)]
        return "\n".join(lines)

    def summary(self, agent: str) -> dict[str, Any]:
        """The per-agent facts envs put into ``info``."""
        own = self.own_answers(agent)
        flips = self.flips(agent)
        first = own[0] if own else None
        return {
            "answer": self.answer(agent),
            "correct": self.correct(agent),
            "answers": own,
            "initial_answer": first,
            "initial_correct": is_correct(first, self.item.answers),
            "partner_answer": self.answer(self.partner_of(agent)),
            "agreement": self.agreed(),
            "flips": flips,
            "n_right_to_wrong": sum(f["kind"] == RIGHT_TO_WRONG for f in flips),
            "n_wrong_to_right": sum(f["kind"] == WRONG_TO_RIGHT for f in flips),
        }
