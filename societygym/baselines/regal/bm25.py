"""Okapi BM25 over short texts (queries, helper descriptions): offline, deterministic, no deps.

ReGAL retrieved with OpenAI ada-002 embeddings, even for open models; lexical retrieval is
what its queries need (templated words: "small", "semicircle", "weeks ago") and runs anywhere.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

WORD = re.compile(r"[a-z]+|\d+")


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers; identifiers split at underscores and digits."""
    return WORD.findall(text.lower())


class BM25:
    """Scores every document for a query; ties keep document order, so rankings are stable."""

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(documents)
        tokenized = [tokenize(d) for d in documents]
        self.lengths = [len(tokens) for tokens in tokenized]
        self.average = sum(self.lengths) / self.size if self.size else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, tokens in enumerate(tokenized):
            for term, count in Counter(tokens).items():
                self.postings.setdefault(term, []).append((index, count))

    def idf(self, term: str) -> float:
        frequency = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def scores(self, query: str) -> list[float]:
        scores = [0.0] * self.size
        for term in set(tokenize(query)):
            idf = self.idf(term)
            for index, count in self.postings.get(term, ()):
                norm = 1.0 - self.b + self.b * self.lengths[index] / (self.average or 1.0)
                scores[index] += idf * count * (self.k1 + 1.0) / (count + self.k1 * norm)
        return scores

    def top(self, query: str, k: int, skip: Callable[[int], bool] | None = None) -> list[int]:
        """The indices of the ``k`` best documents, best first, leaving out those ``skip``s."""
        return best(self.scores(query), k, skip)


def best(scores: Sequence[float], k: int, skip: Callable[[int], bool] | None = None) -> list[int]:
    """Indices of the ``k`` highest scores, best first (ties by index), minus ``skip``s."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [i for i in ranked if skip is None or not skip(i)][: max(k, 0)]


def group_similar(texts: Sequence[str], size: int) -> list[list[int]]:
    """Deterministic groups of up to ``size`` similar texts, shortest groups first.

    Greedy: the shortest text not yet grouped takes the ``size - 1`` ungrouped texts that BM25
    ranks closest to it. The groups are then ordered by total length, ReGAL's curriculum
    (simple queries first). ReGAL clustered ada-002 embeddings agglomeratively instead.
    """
    if size < 1:
        raise ValueError("group size must be at least 1")
    index = BM25(texts)
    grouped: set[int] = set()
    groups = []
    for seed in sorted(range(len(texts)), key=lambda i: (len(texts[i]), texts[i], i)):
        if seed in grouped:
            continue
        grouped.add(seed)
        group = [seed, *index.top(texts[seed], size - 1, skip=grouped.__contains__)]
        grouped.update(group)
        groups.append(group)
    return sorted(groups, key=lambda g: sum(len(texts[i]) for i in g))
