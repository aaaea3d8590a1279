"""Resolving a component named by a spec string, the one way every env option does it.

Env options that take a component (a listener, a speaker, a partner, an answer extractor, a
data engine) accept an instance, one of a few names, ``"llm"`` (the embedded model) or
``"llm:<llm spec>"`` (any spec ``societygym.llm.load_llm`` takes). An LLM named this way is
loaded on first use, not when the env is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from societygym.llm.lazy import LazyLLM

T = TypeVar("T")


def llm_spec(spec: str) -> str | None:
    """The LLM spec in ``"llm"`` / ``"llm:<spec>"`` (``"embedded"`` for the bare name), or
    None when ``spec`` does not name an LLM."""
    if spec == "llm":
        return "embedded"
    if spec.startswith("llm:"):
        return spec.removeprefix("llm:") or "embedded"
    return None


def resolve(
    spec: T | str,
    kind: str,
    named: Mapping[str, Callable[[], T]],
    from_llm: Callable[[LazyLLM], T],
) -> T:
    """An instance passes through; a name in ``named`` is built; ``"llm[:<spec>]"`` goes to
    ``from_llm`` as a ``LazyLLM`` of the LLM spec; anything else is a clear error."""
    if not isinstance(spec, str):
        return spec
    if spec in named:
        return named[spec]()
    llm = llm_spec(spec)
    if llm is not None:
        from societygym.llm.lazy import LazyLLM

        return from_llm(LazyLLM(llm))
    names = ", ".join(repr(n) for n in named)
    raise ValueError(f"unknown {kind} {spec!r}: use {names}, 'llm' or 'llm:<llm spec>'")
