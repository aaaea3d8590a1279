"""The restricted execution namespace: curated builtins, guarded imports, module views."""

from __future__ import annotations

import builtins
import operator
import os
import sys
import types
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from societygym.sandbox.checks import check_source, is_forbidden_attribute
from societygym.sandbox.errors import ForbiddenImport, SandboxViolation

PROGRAM_NAME = "__sandbox__"  # the program's __name__, so `if __name__ == "__main__"` is skipped
EXEC_FILENAME = "<sandbox-exec>"

_SAFE_BUILTINS = """
    abs aiter all anext any ascii bin bool bytearray bytes callable chr classmethod
    complex dict divmod enumerate filter float format frozenset hash hex id input int
    isinstance issubclass iter len list map max memoryview min next object oct ord pow
    print property range repr reversed round set slice sorted staticmethod str sum super
    tuple type zip Ellipsis NotImplemented __build_class__
    """.split()  # noqa: SIM905 - a word list
_EXCEPTIONS = {
    name: value
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}
_BASE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTINS}
_BASE_BUILTINS.update(_EXCEPTIONS)


def _unavailable(name: str, hint: str = "") -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise SandboxViolation(f"{name}() is not available in the sandbox{hint}")

    refuse.__name__ = refuse.__qualname__ = name
    return refuse


def _plain_name(name: object) -> str:
    # A str subclass could override startswith/== to slip past the checks below.
    if type(name) is not str:
        raise SandboxViolation("attribute names must be plain str in the sandbox")
    if is_forbidden_attribute(name):
        raise SandboxViolation(f"access to attribute {name!r} is not allowed in the sandbox")
    return name


def _getattr(obj: object, name: str, *default: Any) -> Any:
    return getattr(obj, _plain_name(name), *default)


def _hasattr(obj: object, name: str) -> bool:
    return hasattr(obj, _plain_name(name))


def _setattr(obj: object, name: str, value: Any) -> None:
    setattr(obj, _plain_name(name), value)


def _delattr(obj: object, name: str) -> None:
    delattr(obj, _plain_name(name))


def _dir(obj: object) -> list[str]:
    return [name for name in dir(obj) if not name.startswith("_")]


def _exit(code: object = None) -> None:
    raise SystemExit(code)


def _attrgetter(*names: str) -> operator.attrgetter:
    for dotted in names:
        if type(dotted) is not str:
            raise SandboxViolation("attribute names must be plain str in the sandbox")
        for part in dotted.split("."):
            _plain_name(part)
    return operator.attrgetter(*names)


def _methodcaller(name: str, /, *args: Any, **kwargs: Any) -> operator.methodcaller:
    return operator.methodcaller(_plain_name(name), *args, **kwargs)


_BASE_BUILTINS.update(
    getattr=_getattr,
    hasattr=_hasattr,
    setattr=_setattr,
    delattr=_delattr,
    dir=_dir,
    exit=_exit,
    quit=_exit,
    compile=_unavailable("compile", "; exec() and eval() accept source strings"),
    globals=_unavailable("globals"),
    vars=_unavailable("vars"),
    breakpoint=_unavailable("breakpoint"),
    open=_unavailable("open", " unless the policy allows scratch-directory files"),
)


def restricted_locals(owner_builtins: Mapping[str, Any]) -> Callable[[], Mapping[str, Any]]:
    """A ``locals()`` for code whose builtins are ``owner_builtins``: a read-only snapshot of
    the caller's non-dunder local names.

    The real ``locals()`` stays closed: at module level it is the live globals dict, whose
    ``__builtins__`` holds the import guard. A snapshot without dunder names gives a program
    only values it can already name (ReGAL's LOGO programs pass it to ``embed``), and library
    frames (which have the real builtins) are refused, so a library calling it back hands
    nothing of its own out.
    """

    def sandbox_locals() -> Mapping[str, Any]:
        caller = sys._getframe(1)
        if caller.f_globals.get("__builtins__") is not owner_builtins:
            raise SandboxViolation("locals() is only available to the program's own code")
        names = {k: v for k, v in caller.f_locals.items() if not k.startswith("__")}
        return types.MappingProxyType(names)

    sandbox_locals.__name__ = sandbox_locals.__qualname__ = "locals"
    return sandbox_locals


# Public module attributes that would undo the restrictions, hidden or replaced in views.
_HIDDEN: dict[str, frozenset[str]] = {
    "string": frozenset({"Formatter"}),  # get_field() walks attribute names given as text
    "typing": frozenset({"get_type_hints"}),  # evaluates annotation strings
    "decimal": frozenset({"DefaultContext"}),  # mutable template shared by later runs
}
_REPLACED: dict[str, dict[str, Any]] = {
    "operator": {"attrgetter": _attrgetter, "methodcaller": _methodcaller},
}


class ModuleView(types.ModuleType):
    """A read-only copy of a module's public, allowed attributes.

    It keeps no reference to the real module, so private members such as
    ``random._os`` are unreachable, and it refuses assignment, so one run cannot
    change what later runs in the same worker see.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"module {self.__name__!r} is read-only in the sandbox")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"module {self.__name__!r} is read-only in the sandbox")


# Importable under every policy: C code imports these through the program's own
# ``__import__`` (datetime.strptime, showing a warning), and __future__ holds flags.
_IMPLICIT_MODULES = frozenset({"__future__", "_strptime", "warnings"})


class ImportGuard:
    """The sandbox's ``__import__``: allow-listed modules only, returned as ModuleViews.

    A program may still change a library class (CPython does not audit
    ``SomeLibraryClass.attr = x``); that dies with its worker process, which serves
    only this run.
    """

    def __init__(
        self, allowed: frozenset[str], trusted_import: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self.allowed = allowed
        self._trusted_import = trusted_import
        self._views: dict[str, ModuleView] = {}

    def allows(self, name: str) -> bool:
        return name in _IMPLICIT_MODULES or any(
            name == m or name.startswith(m + ".") for m in self.allowed
        )

    def _leads_to_allowed(self, name: str) -> bool:
        return self.allows(name) or any(m.startswith(name + ".") for m in self.allowed)

    def __call__(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: tuple[str, ...] | None = (),
        level: int = 0,
    ) -> ModuleView:
        if type(name) is not str:
            raise TypeError("module name must be a plain str")
        if level:
            raise ForbiddenImport("relative imports are not allowed in the sandbox")
        if not self.allows(name):
            allowed = ", ".join(sorted(self.allowed)) or "none"
            raise ForbiddenImport(
                f"import of {name!r} is not allowed in the sandbox (allowed: {allowed})", name=name
            )
        with self._trusted_import():
            builtins.__import__(name, None, None, fromlist or (), 0)
        if fromlist:
            return self.view(sys.modules[name], name)
        top = name.partition(".")[0]
        self._link(name)
        return self.view(sys.modules[top], top)

    def _link(self, dotted: str) -> None:
        # `import a.b` binds `a`; make sure a's view leads to b even if it was built earlier.
        parts = dotted.split(".")
        for i in range(1, len(parts)):
            parent, child = ".".join(parts[:i]), ".".join(parts[: i + 1])
            view = self.view(sys.modules[parent], parent)
            vars(view)[parts[i]] = self.view(sys.modules[child], child)

    def view(self, module: types.ModuleType, path: str) -> ModuleView:
        cached = self._views.get(path)
        if cached is not None:
            return cached
        full = self.allows(path)
        view = ModuleView(path, module.__doc__ if full else None)
        self._views[path] = view  # before filling: modules may refer to each other
        hidden = _HIDDEN.get(path, frozenset())
        replaced = _REPLACED.get(path, {})
        attrs = vars(view)
        for key, value in list(vars(module).items()):
            if key.startswith("_") or key in hidden:
                continue
            if isinstance(value, types.ModuleType):
                sub = f"{path}.{key}"
                if sys.modules.get(sub) is value and self._leads_to_allowed(sub):
                    attrs[key] = self.view(value, sub)
                elif self.allows(value.__name__):
                    attrs[key] = self.view(value, value.__name__)
            elif full:
                attrs[key] = replaced.get(key, value)
        attrs["__all__"] = sorted(k for k in attrs if not k.startswith("_"))
        return view


def _scoped_open(scratch: str) -> Callable[..., Any]:
    scratch = os.path.realpath(scratch)

    def sandbox_open(
        file: str,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        if type(file) is not str:
            raise SandboxViolation("open() takes a path string inside the scratch directory")
        path = os.path.realpath(os.path.join(scratch, file))
        if os.path.commonpath([path, scratch]) != scratch:
            raise SandboxViolation(f"open() outside the scratch directory is not allowed: {file!r}")
        return open(path, mode, buffering, encoding, errors, newline)

    return sandbox_open


def _restricted_eval_exec(sandbox_builtins: dict[str, Any]) -> tuple[Callable, Callable]:
    """eval/exec of source strings, checked like the program and run with the same builtins."""

    def scopes(given_globals: Any, given_locals: Any) -> tuple[dict, Any]:
        if given_globals is None:
            caller = sys._getframe(2)
            # Only sandbox code may lend its scope; library frames have the real builtins.
            if caller.f_globals.get("__builtins__") is not sandbox_builtins:
                raise SandboxViolation(
                    "exec()/eval() without globals is only allowed in the program"
                )
            return caller.f_globals, caller.f_locals if given_locals is None else given_locals
        if type(given_globals) is not dict:
            raise TypeError("globals must be a dict")
        given_globals["__builtins__"] = sandbox_builtins
        return given_globals, given_globals if given_locals is None else given_locals

    def compiled(source: Any, mode: str) -> types.CodeType:
        if type(source) is not str:
            raise SandboxViolation(f"{mode}() only accepts source strings in the sandbox")
        tree = check_source(source, mode, EXEC_FILENAME)
        return compile(tree, EXEC_FILENAME, mode, dont_inherit=True)

    def sandbox_eval(source: str, globals: Any = None, locals: Any = None) -> Any:
        code = compiled(source, "eval")
        return eval(code, *scopes(globals, locals))

    def sandbox_exec(source: str, globals: Any = None, locals: Any = None) -> None:
        code = compiled(source, "exec")
        exec(code, *scopes(globals, locals))

    sandbox_eval.__name__ = sandbox_eval.__qualname__ = "eval"
    sandbox_exec.__name__ = sandbox_exec.__qualname__ = "exec"
    return sandbox_eval, sandbox_exec


def build_namespace(
    guard: ImportGuard, extra: Mapping[str, Any], scratch: str | None
) -> types.ModuleType:
    """A fresh module for one run: safe builtins, the policy's names and nothing else.

    A real module (registered in sys.modules while the program runs) because
    dataclasses, enum and typing look a class's module up by name.
    """
    sandbox_builtins = dict(_BASE_BUILTINS)
    sandbox_builtins["__import__"] = guard
    if scratch is not None:
        sandbox_builtins["open"] = _scoped_open(scratch)
    sandbox_builtins["eval"], sandbox_builtins["exec"] = _restricted_eval_exec(sandbox_builtins)
    sandbox_builtins["locals"] = restricted_locals(sandbox_builtins)
    module = types.ModuleType(PROGRAM_NAME)
    namespace = vars(module)
    for name, value in extra.items():
        if type(name) is not str or name.startswith("__"):
            raise ValueError(f"namespace name {name!r} is not allowed")
        namespace[name] = value
    namespace["__builtins__"] = sandbox_builtins
    return module
