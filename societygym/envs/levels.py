"""Difficulty levels: the one shape every env's ``difficulty=`` argument takes.

An env class lists its levels, easiest first, in ``difficulty_levels`` (one line each, see
``societygym.contracts.LeveledEnv``); ``difficulty=k`` plays level ``k`` (1-based) and
``difficulty=None``, every env's default, keeps its usual mix of instances unchanged.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any


def check_level(difficulty: Any, levels: Sequence[str], env_name: str) -> int | None:
    """``difficulty`` as a level number, or None; anything else is a ValueError that lists
    the valid levels."""
    if difficulty is None:
        return None
    try:
        level = operator.index(difficulty)  # ints, numpy ints; not floats, strs or bools
    except TypeError:
        level = None
    if isinstance(difficulty, bool) or level is None or not 1 <= level <= len(levels):
        listing = "; ".join(f"{k}: {text}" for k, text in enumerate(levels, 1))
        raise ValueError(
            f"{env_name}: difficulty must be None (the default mix) or a level from 1 to "
            f"{len(levels)} ({listing}); got {difficulty!r}"
        )
    return level


def check_choices(
    name: str, chosen: Iterable[str] | None, known: Sequence[str], env_name: str
) -> tuple[str, ...] | None:
    """A non-empty subset of ``known`` (in ``known``'s order), or None for all of them."""
    if chosen is None:
        return None
    if isinstance(chosen, str):
        chosen = (chosen,)
    wanted = set(chosen)
    unknown = sorted(wanted - set(known))
    if unknown or not wanted:
        problem = f"unknown {name} {unknown}" if unknown else f"no {name} chosen"
        raise ValueError(f"{env_name}: {problem}; valid {name}: {', '.join(known)}")
    return tuple(k for k in known if k in wanted)


def only_one(env_name: str, **given: Any) -> None:
    """Raise when ``difficulty`` is combined with a knob it sets itself."""
    named = [name for name, value in given.items() if value is not None]
    if "difficulty" in named and len(named) > 1:
        others = ", ".join(n for n in named if n != "difficulty")
        raise ValueError(
            f"{env_name}: difficulty sets {others} itself; pass either difficulty or {others}"
        )
