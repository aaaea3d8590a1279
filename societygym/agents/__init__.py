"""Agents: the protocol, built-in agents, and loading an agent from a CLI spec."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Any

from societygym.agents.base import Agent, BaseAgent, act_batch

# The one table of built-in agents, alias -> "module:ClassOrFactory": the command line, the
# leaderboard's baselines and ``load_agent`` all name agents through it. An agent class lives in
# this package, one module per setting; ``pbt-partner`` is the persuasion env's own LLM partner,
# which can also take a ``Persuasion-v0`` seat.
ALIASES = {
    "random": "societygym.agents.simple:RandomAgent",
    "random-valid": "societygym.agents.simple:PlausibleRandomAgent",
    "fixed": "societygym.agents.simple:FixedAgent",
    "human": "societygym.agents.human:HumanAgent",
    "llm": "societygym.agents.llm_agent:LLMAgent",
    "scripted-debater": "societygym.agents.persuasion:ScriptedDebater",
    "pbt-partner": "societygym.envs.persuasion.partners:LLMPartner",
    "regal": "societygym.agents.regal:ReGALAgent",
    "regal-primitive": "societygym.agents.regal:PrimitiveAgent",
    "nostate-teacher": "societygym.agents.teachers:NoStateTeacher",
    "skill-list-teacher": "societygym.agents.teachers:SkillListTeacher",
    "learning-progress-teacher": "societygym.agents.teachers:LearningProgressTeacher",
    "llm-teacher": "societygym.agents.teachers:llm_teacher",
    "tree-alternating": "societygym.agents.teachers:AlternatingTreePolicy",
    "tree-threshold": "societygym.agents.teachers:ThresholdTreePolicy",
}
# Specs of agents that have moved into this package since shipped leaderboard bundles recorded
# them: a bundle is re-run from its own spec, so the old paths keep resolving.
_FORMER = {
    "societygym.baselines.dataenv_teachers": "societygym.agents.teachers",
    "societygym.envs.persuasion.debaters": "societygym.agents.persuasion",
}

__all__ = [
    "ALIASES",
    "Agent",
    "BaseAgent",
    "act_batch",
    "agent_factory",
    "load_agent",
    "parse_kv",
]


def agent_factory(spec: str) -> Any:
    """The class or factory ``spec`` names (an alias or ``"package.module:ClassOrFactory"``),
    imported but not called. A module not found on ``sys.path`` is looked up in the current
    directory too, as ``python -m`` would (the ``societygym`` script's path starts elsewhere)."""
    module_name, sep, attr = ALIASES.get(spec, spec).partition(":")
    module_name = _FORMER.get(module_name, module_name)
    if not sep or not module_name or not attr:
        raise ValueError(
            f"agent {spec!r} is neither a built-in ({', '.join(ALIASES)}) nor 'module:Class'"
        )
    try:
        return getattr(_import_from_path_or_cwd(module_name), attr)
    except ModuleNotFoundError as error:
        if error.name == module_name.split(".")[0]:
            raise ValueError(
                f"cannot load agent {spec!r}: {error} (searched sys.path and the current "
                f"directory {os.getcwd()}; run from the folder that holds the package, or "
                "install it)"
            ) from error
        raise ValueError(f"cannot load agent {spec!r}: {error}") from error
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot load agent {spec!r}: {error}") from error


def _import_from_path_or_cwd(module_name: str) -> ModuleType:
    """``importlib.import_module``, retried with the current directory first on the path
    when the top-level package itself is missing (not one of its own imports)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        cwd = os.getcwd()
        if error.name != module_name.split(".")[0] or cwd in sys.path:
            raise
    # only for this lookup: the user's imports should not shadow modules for the whole run
    sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(cwd)


def load_agent(spec: str, **kwargs: Any) -> Any:
    """``"random"``, ``"llm"`` … or ``"package.module:ClassOrFactory"``, called with kwargs."""
    agent = agent_factory(spec)(**kwargs)
    if not hasattr(agent, "act"):
        raise TypeError(f"{spec!r} made {type(agent).__name__}, which has no act() method")
    return agent


def parse_kv(pairs: list[str] | None) -> dict[str, Any]:
    """``["k=v", ...]`` to a dict; values are parsed as JSON when they parse, else strings."""
    import json

    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {pair!r}")
        try:
            result[key] = json.loads(raw)
        except json.JSONDecodeError:
            result[key] = raw
    return result
