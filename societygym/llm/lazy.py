"""An LLM named by a spec and loaded on first use.

Env options such as ``listener="llm"`` or ``partner="llm"`` hold one of these, so that
``gym.make`` (and the leaderboard's orchestrating process, the CLI's argument checks, a
vector env's constructor calls) costs nothing until an episode first needs the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from societygym.llm.base import LLM


class LazyLLM:
    """Stands in for ``loader(spec)`` (``load_llm`` by default: one shared model per spec);
    the first attribute asked for (``generate``, ``score_batch``, ``usage``, ``tokenizer``…)
    loads it, and every later one goes straight to the loaded model."""

    def __init__(self, spec: str, loader: Callable[[str], LLM] | None = None) -> None:
        self.spec = spec
        self._loader = loader
        self._llm: LLM | None = None

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> LLM:
        if self._llm is None:
            if self._loader is None:
                from societygym.llm import load_llm

                self._llm = load_llm(self.spec)
            else:
                self._llm = self._loader(self.spec)
        return self._llm

    def __getattr__(self, name: str) -> Any:
        # only reached for names not set in __init__; dunders (copy, pickle) must not load
        if name.startswith("__") or name in ("spec", "_loader", "_llm"):
            raise AttributeError(name)
        return getattr(self.load(), name)

    def __repr__(self) -> str:
        state = "loaded" if self.loaded else "not loaded yet"
        return f"LazyLLM({self.spec!r}, {state})"
