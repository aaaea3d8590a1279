"""Teaching domains by name. A new domain registers a factory here; the envs need no change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from societygym.envs.dataenv.domain import Domain


def _math(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.math import MathDomain

    return MathDomain(**kwargs)


def _hendrycks_math(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.hendrycks_math import HendrycksMathDomain

    return HendrycksMathDomain(**kwargs)


def _vqa(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.vqa.domain import VQADomain

    return VQADomain(**kwargs)


def _code(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.code import CodeDomain

    return CodeDomain(**kwargs)


def _humaneval(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.code import CodeDomain

    return CodeDomain(benchmark="humaneval", **kwargs)


def _livecodebench(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.code import LiveCodeBenchDomain

    return LiveCodeBenchDomain(**kwargs)


def _smoke(name: str) -> Callable[..., Domain]:
    """``name`` with answers cut at 16 tokens: cheap settings for the certification tests."""
    return lambda **kwargs: DOMAINS[name](max_new_tokens=16, **kwargs)


def _tooluse(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.tooluse import ToolUseDomain

    return ToolUseDomain(**kwargs)


def _mnms(**kwargs: Any) -> Domain:
    from societygym.envs.dataenv.domains.tooluse import MnmsDomain

    return MnmsDomain(**kwargs)


DOMAINS: dict[str, Callable[..., Domain]] = {
    "math": _math,
    "hendrycks_math": _hendrycks_math,
    "vqa": _vqa,
    "code": _code,
    "humaneval": _humaneval,
    "livecodebench": _livecodebench,
    "tooluse": _tooluse,
    "mnms": _mnms,
    "code-smoke": _smoke("code"),
    "tooluse-smoke": _smoke("tooluse"),
}


def make_domain(spec: str | Domain, **kwargs: Any) -> Domain:
    """A domain object from its name (``DOMAINS``), or the object itself."""
    if isinstance(spec, Domain):
        return spec
    if spec not in DOMAINS:
        raise ValueError(f"unknown teaching domain {spec!r}; known: {', '.join(DOMAINS)}")
    return DOMAINS[spec](**kwargs)
