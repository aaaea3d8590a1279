"""Catching trivial rewrites of held-out questions in a teacher's training data.

An exact-hash check (``records.question_key``) stops a verbatim copy, but not
``"Question: <held-out question> Please."``. Texts are first reduced to tokens that erase
what trivial rewrites change: case, punctuation other than arithmetic operators, spacing,
and number formatting (``1,000`` = ``1000``, ``5.0`` = ``5``). A training instruction is
then a near-duplicate of a held-out item when

- it contains the item's whole token sequence, in order (any prefix or suffix added): the
  rule for short items, which are mostly templates whose only difference is one slot
  ("What is 23 + 45?" against a held-out "What is 23 + 46?" is a new question); or
- for an item of at least ``LONG`` tokens (a docstring, a story problem), it contains at
  least ``CONTAINMENT`` = 90% of the item's word 3-grams and every number the item
  mentions: a few words edited inside a long item do not make it new.

Containment, not a symmetric similarity, is what catches prefixes and suffixes: added words
add 3-grams to the instruction but remove none of the item's.

Items are compared only within a *scope* the domain names: the image for VQA, whose
questions are templates that only the image makes distinct; one scope for text domains.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

N = 3
CONTAINMENT = 0.9
LONG = 40

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TRAILING_ZEROS = re.compile(r"(\d+)\.0+(?!\d)")
# operators stay: "0 + 7" and "0 - 7" are different questions
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+|[-+*/=<>^%]")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def tokens(text: str) -> list[str]:
    """Words and numbers of ``text``: lower case, punctuation dropped, numbers canonical."""
    text = _TRAILING_ZEROS.sub(r"\1", _THOUSANDS.sub("", text.lower()))
    return _TOKEN.findall(text)


def shingles(words: list[str]) -> frozenset[tuple[str, ...]]:
    """Word ``N``-grams; a text shorter than ``N`` words is its own single shingle."""
    if len(words) < N:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + N]) for i in range(len(words) - N + 1))


@dataclass(frozen=True)
class Match:
    """The held-out item an instruction nearly copies, and how much of it it contains."""

    item_id: str
    containment: float

    def reason(self) -> str:
        return (
            f"near-duplicate of held-out item {self.item_id} (contains "
            f"{100 * self.containment:.0f}% of its word {N}-grams and all its numbers; "
            f"see near_duplicates: the whole item, or {100 * CONTAINMENT:.0f}% of a long one)"
        )


class NearDuplicateIndex:
    """Held-out items' shingles, by scope, for fast containment look-ups."""

    def __init__(self, items: Iterable[tuple[str, str, str]]) -> None:
        """``items``: (item id, question text, scope)."""
        self._shingles: dict[str, frozenset[tuple[str, ...]]] = {}
        self._tokens: dict[str, tuple[str, ...]] = {}
        self._numbers: dict[str, Counter[str]] = {}
        self._postings: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
        for item_id, text, scope in items:
            words = tokens(text)
            grams = shingles(words)
            if not grams:
                continue
            self._shingles[item_id] = grams
            self._tokens[item_id] = tuple(words)
            self._numbers[item_id] = Counter(w for w in words if _NUMBER.match(w))
            for gram in grams:
                self._postings[(scope, gram)].append(item_id)

    def __len__(self) -> int:
        return len(self._shingles)

    def match(self, text: str, scope: str = "") -> Match | None:
        """The held-out item of ``scope`` that ``text`` contains most of, if it passes the
        threshold (ties: the first indexed)."""
        words = tokens(text)
        # shorter grams too: a held-out text of fewer than N words is one shorter shingle
        grams = shingles(words) | {
            tuple(words[i : i + k]) for k in range(1, N) for i in range(len(words) - k + 1)
        }
        hits: Counter[str] = Counter()
        for gram in grams:
            hits.update(self._postings.get((scope, gram), ()))
        numbers = Counter(w for w in words if _NUMBER.match(w))
        best: Match | None = None
        for item_id, shared in hits.items():
            containment = shared / len(self._shingles[item_id])
            if containment < CONTAINMENT or (self._numbers[item_id] - numbers):
                continue
            item = self._tokens[item_id]
            if len(item) < LONG and not _contains_run(words, item):
                continue
            if best is None or containment > best.containment:
                best = Match(item_id, containment)
        return best


def _contains_run(words: list[str], run: tuple[str, ...]) -> bool:
    """Whether ``run`` occurs in ``words`` as a contiguous sequence."""
    size = len(run)
    return any(tuple(words[i : i + size]) == run for i in range(len(words) - size + 1))
