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


DOMAINS: dict[str, Callable[..., Domain]] = {"math": _math, "hendrycks_math": _hendrycks_math}


def make_domain(spec: str | Domain, **kwargs: Any) -> Domain:
    """A domain object from its name (``DOMAINS``), or the object itself."""
    if isinstance(spec, Domain):
        return spec
    if spec not in DOMAINS:
        raise ValueError(f"unknown teaching domain {spec!r}; known: {', '.join(DOMAINS)}")
    return DOMAINS[spec](**kwargs)
