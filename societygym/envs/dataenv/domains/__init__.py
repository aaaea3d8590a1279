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
}


def make_domain(spec: str | Domain, **kwargs: Any) -> Domain:
    """A domain object from its name (``DOMAINS``) built with ``kwargs``, or the object
    itself (which takes no kwargs: it is already built)."""
    if isinstance(spec, Domain):
        if kwargs:
            raise TypeError(
                f"domain kwargs {sorted(kwargs)} given with an already built {spec.name!r} "
                "domain object; pass its name instead, or build the object with them"
            )
        return spec
    if spec not in DOMAINS:
        raise ValueError(f"unknown teaching domain {spec!r}; known: {', '.join(DOMAINS)}")
    if not kwargs:
        return DOMAINS[spec]()
    try:
        return DOMAINS[spec](**kwargs)
    except TypeError as error:  # e.g. an unknown keyword; the original message is kept
        raise TypeError(f"bad kwargs {sorted(kwargs)} for domain {spec!r}: {error}") from error
