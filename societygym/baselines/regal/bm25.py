"""BM25 retrieval over short texts (queries, helper descriptions), scored by ``bm25s``
(Lucene's variant), with our tokenizer, tie order and greedy grouping around it.

ReGAL retrieved with OpenAI ada-002 embeddings, even for open models; lexical retrieval is
what its queries need (templated words: "small", "semicircle", "weeks ago") and runs anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

WORD = re.compile(r"[a-z]+|\d+")


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers; identifiers split at underscores and digits."""
    return WORD.findall(text.lower())


class BM25:
    """Scores every document for a query; ties keep document order, so rankings are stable.

    Okapi BM25 with Lucene's idf ``log(1 + (N - df + 0.5) / (df + 0.5))``; each query term
    counts once (a repeated word does not weigh double).
    """

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s  # here: it pulls in scipy, which takes a while to import

        self.size = len(documents)
        tokenized = [tokenize(d) for d in documents]
        self._index = None
        if any(tokenized):  # bm25s cannot index a corpus without a single word
            self._index = bm25s.BM25(k1=k1, b=b, method="lucene")
            self._index.index(tokenized, show_progress=False)

    def scores(self, query: str) -> list[float]:
        terms = list(dict.fromkeys(tokenize(query)))
        if self._index is None or not terms:
            return [0.0] * self.size
        return [float(v) for v in self._index.get_scores(terms)]

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
