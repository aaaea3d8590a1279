"""Helper functions (a code bank) offered to program-writing agents: shown, then defined.

A ReGAL code bank plugs in here: the env lists each snippet's source in the observation and
runs the snippets before the agent's program, in the same globals, so the program can call
them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

# room for a task, the instructions and a verdict (errors included), before any helpers
BASE_OBSERVATION_LENGTH = 65536


def observation_length(helpers: Sequence[str]) -> int:
    """The longest observation an env that lists ``helpers`` can produce."""
    return BASE_OBSERVATION_LENGTH + sum(len(helper) + 2 for helper in helpers)


def checked_helpers(helpers: Sequence[str] | Any) -> tuple[str, ...]:
    """Helper sources from a sequence of snippets, a ``CodeBank``, or a ``codebank.json``
    path (what ``python -m societygym.baselines.regal train`` writes)."""
    if isinstance(helpers, (str, os.PathLike)) and os.fspath(helpers).endswith(".json"):
        from societygym.envs.programs.codebank import CodeBank

        helpers = CodeBank.load(helpers)
    if callable(getattr(helpers, "helpers", None)):  # a CodeBank
        helpers = helpers.helpers()
    if isinstance(helpers, str) or not all(isinstance(helper, str) for helper in helpers):
        raise TypeError(
            "helpers is a sequence of source snippets (str), a CodeBank or a codebank.json "
            "path, not one str"
        )
    return tuple(helper.strip() for helper in helpers)


def describe(text: str, helpers: Sequence[str]) -> str:
    """An observation: ``text`` (task and instructions), then the helpers' source, if any."""
    if not helpers:
        return text
    listed = "\n\n".join(helpers)
    return f"{text}\n\nThese helpers are already defined; call them as you like:\n\n{listed}"


def with_helpers(program: str, helpers: Sequence[str]) -> str:
    """The source the sandbox runs: the helpers, then the program."""
    return "\n\n".join((*helpers, program))
