"""What a sandboxed program may import, see and consume."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

# The `Policy.stdlib()` allow-list: pure computation, text, data and time modules.
# Everything else is refused, notably: os, sys, subprocess, socket, ssl, ctypes,
# multiprocessing, threading, _thread, asyncio, signal, resource, shutil, pathlib,
# tempfile, glob, io, codecs, builtins, importlib, gc, inspect, traceback, types,
# weakref, pickle, marshal, shelve, copyreg, platform, sysconfig, site, uuid (it may
# run commands), urllib (except urllib.parse), http, email, xml, zipfile, tarfile.
STDLIB_MODULES = frozenset(
    """
        abc array base64 binascii bisect calendar cmath collections colorsys contextlib
        copy csv dataclasses datetime decimal difflib enum fractions functools graphlib
        hashlib heapq hmac html itertools json keyword math numbers operator pprint
        queue random re reprlib secrets statistics string struct textwrap time typing
        unicodedata urllib.parse zlib zoneinfo
        """.split()  # noqa: SIM905 - a word list
)

DSL_MODULES = frozenset({"math"})
ISOLATION_MODES = ("auto", "required")


def _module_names(names: Iterable[str]) -> frozenset[str]:
    if isinstance(names, str):  # a lone name would otherwise become its letters
        names = (names,)
    return frozenset(names)


@dataclasses.dataclass(frozen=True)
class Policy:
    """Limits and capabilities of one run.

    ``allowed_imports`` holds module names; an entry also allows its submodules
    ("dateutil" allows "dateutil.parser"). ``namespace`` adds names to the program's
    globals: either a mapping of picklable values (module-level functions pickle by
    reference) or a "package.module:attr" spec naming a dict or a zero-argument
    factory returning one; a factory is called afresh for every run, so DSL state
    (a turtle, a canvas) never leaks between runs. ``memory_mb`` is the address
    space a run may add on top of the worker's baseline (its preloaded modules).

    ``isolation`` is ``"auto"`` (run with whatever kernel layers this machine has,
    saying once which are missing) or ``"required"`` (refuse to run, raising
    `IsolationUnavailable`, unless every layer is on: see `isolation.py`).
    ``python_layers=False`` switches the in-process layers off (static check,
    curated builtins, import allow-list, audit hook) so that tests can show the
    kernel layers hold alone; it is refused unless every kernel layer is on.
    """

    allowed_imports: frozenset[str] = frozenset()
    namespace: str | Mapping[str, Any] | None = None
    cpu_seconds: float = 5.0
    wall_seconds: float = 10.0
    memory_mb: int = 512
    max_output_bytes: int = 64 * 1024
    allow_scratch_writes: bool = False
    isolation: str = "auto"
    python_layers: bool = True

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {ISOLATION_MODES}, got {self.isolation!r}")
        object.__setattr__(self, "allowed_imports", _module_names(self.allowed_imports))
        if isinstance(self.namespace, str) and ":" not in self.namespace:
            raise ValueError(f"namespace spec must look like 'module:attr', got {self.namespace!r}")
        for name in ("cpu_seconds", "wall_seconds", "memory_mb", "max_output_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @classmethod
    def dsl(
        cls,
        namespace: str | Mapping[str, Any],
        *,
        imports: Iterable[str] = DSL_MODULES,
        **limits: Any,
    ) -> Policy:
        """Only the DSL's names, the safe builtins and ``math``."""
        return cls(allowed_imports=_module_names(imports), namespace=namespace, **limits)

    @classmethod
    def stdlib(
        cls,
        *,
        extra_imports: Iterable[str] = (),
        namespace: str | Mapping[str, Any] | None = None,
        **limits: Any,
    ) -> Policy:
        """The computation-only standard library (`STDLIB_MODULES`) plus ``extra_imports``."""
        imports = STDLIB_MODULES | _module_names(extra_imports)
        return cls(allowed_imports=imports, namespace=namespace, **limits)

    def allows_import(self, name: str) -> bool:
        return any(name == m or name.startswith(m + ".") for m in self.allowed_imports)

    def modules_to_preload(self) -> tuple[str, ...]:
        """Modules worth importing before a run: the allow-list and the namespace's modules.

        Every run is a fresh fork of the server, so what the server has not imported each
        run imports again. Of a mapping's values, only societygym modules are preloaded:
        others (a test module) may import much more than the run needs.
        """
        if isinstance(self.namespace, str):
            modules = {self.namespace.partition(":")[0]}
        elif self.namespace is not None:
            names = {getattr(value, "__module__", None) for value in self.namespace.values()}
            modules = {n for n in names if isinstance(n, str) and n.startswith("societygym.")}
        else:
            modules = set()
        return tuple(sorted(self.allowed_imports | modules))
