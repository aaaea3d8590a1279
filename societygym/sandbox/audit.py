"""The audit-hook backstop installed in every worker (PEP 578).

The namespace and import allow-list are the main defences; this hook refuses the
dangerous operations themselves in case a program reaches a real module anyway
(process creation, signals, sockets, ctypes, files outside the allowed places,
frame introspection, run-time code that names escape attributes, changes to
library classes). It is pure Python in the same process as the program, so code
that already holds arbitrary interpreter objects could in principle tamper with
it: it raises the bar, it is not a boundary.
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys
import types
from collections.abc import Iterator
from typing import Any

from societygym.sandbox.checks import BACKSTOP_NAMES, BACKSTOP_PATTERN
from societygym.sandbox.errors import SandboxViolation

# Refused even between runs: nothing in a worker ever needs them.
_ALWAYS_DENIED = frozenset(
    """
        os.system os.exec os.posix_spawn os.spawn os.fork os.forkpty os.kill os.killpg
        subprocess.Popen signal.pthread_kill pty.spawn
        """.split()  # noqa: SIM905 - a word list
)
_DENIED_PREFIXES = (
    "os.",  # except the file-system events handled below
    "subprocess.",
    "socket.",
    "ctypes.",
    "shutil.",
    "resource.",
    "signal.",
    "gc.",
    "mmap.",
    "fcntl.",
    "pty.",
    "syslog.",
    "sqlite3.",
    "http.",
    "urllib.",
    "ftplib.",
    "smtplib.",
    "poplib.",
    "imaplib.",
    "nntplib.",
    "telnetlib.",
    "webbrowser.",
    "pickle.",
    "winreg.",
    "msvcrt.",
    "_winapi.",
    "cpython.",
)
_DENIED_EVENTS = frozenset(
    """
        code.__new__ function.__new__ setopencodehook sys.addaudithook sys.settrace
        sys.setprofile sys._current_frames sys._current_exceptions
        """.split()  # noqa: SIM905 - a word list
)
# Modules whose loading during a run means something went wrong.
_DENIED_IMPORTS = frozenset(
    """
        ctypes _ctypes socket _socket ssl _ssl subprocess _posixsubprocess
        multiprocessing _multiprocessing pty fcntl mmap resource asyncio http ftplib
        smtplib telnetlib webbrowser sqlite3 _sqlite3 pdb code
        """.split()  # noqa: SIM905 - a word list
)
# Allowed while an allow-listed module is being loaded (see AuditGuard.trusted_import).
_IMPORT_TIME_EVENTS = frozenset({"import", "object.__getattr__"})
# Function attributes that dataclasses and friends read; frames stay refused.
_READABLE_AUDITED_ATTRIBUTES = frozenset({"__code__", "__defaults__", "__kwdefaults__"})
# Events with paths: (path argument positions, dir_fd argument positions).
_READ_EVENTS = {"os.listdir": (0,), "os.scandir": (0,), "os.walk": (0,), "os.fwalk": (0,)}
_WRITE_EVENTS = {
    "os.mkdir": ((0,), (2,)),
    "os.remove": ((0,), (1,)),
    "os.rmdir": ((0,), (1,)),
    "os.rename": ((0, 1), (2, 3)),
    "os.truncate": ((0,), ()),
    "os.utime": ((0,), (3,)),
    "os.chmod": ((0,), (2,)),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# Code compiled from these files was checked by the sandbox itself.
_CHECKED_FILENAMES = frozenset({"<program>", "<sandbox-exec>"})


class AuditGuard:
    """Callable audit hook with two modes: idle (worker housekeeping) and armed (a run).

    ``violations`` collects every refusal during a run, so a program that catches
    the exception is still reported as "forbidden".
    """

    def __init__(self, scratch: str, read_roots: tuple[str, ...], read_files: tuple[str, ...]):
        self._realpath = os.path.realpath  # bound now: later monkeypatching changes nothing
        self.scratch = self._realpath(scratch)
        self.read_roots = tuple(self._realpath(r) for r in read_roots)
        self.read_files = frozenset(read_files)
        self.armed = False
        self.allow_writes = False
        self.allow_frames = False
        self.importing = 0
        self.violations: list[str] = []

    def arm(self, allow_writes: bool) -> None:
        self.violations = []
        self.allow_writes = allow_writes
        self.allow_frames = False
        self.armed = True

    def disarm(self) -> None:
        self.armed = False

    @contextlib.contextmanager
    def trusted_import(self) -> Iterator[None]:
        """While the import guard loads an allowed module: library module bodies may
        load other modules (dateutil pulls in ctypes) and shared libraries, never call
        into them."""
        self.importing += 1
        try:
            yield
        finally:
            self.importing -= 1

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event in _ALWAYS_DENIED:
            self._deny(f"{event} is not allowed in the sandbox")
        if not self.armed:
            return
        if self.importing and (event in _IMPORT_TIME_EVENTS or event.startswith("ctypes.dl")):
            return
        if event == "open":
            self._check_open(args)
        elif event in _WRITE_EVENTS:
            self._check_write_event(event, args)
        elif event in _READ_EVENTS:
            self._check_path(event, args[0], write=False)
        elif event == "import":
            self._check_import(args[0])
        elif event == "compile":
            self._check_compile(args)
        elif event == "exec":
            self._check_code(args[0])
        elif event == "object.__getattr__":
            if not (self.allow_frames or args[1] in _READABLE_AUDITED_ATTRIBUTES):
                self._deny(f"reading {args[1]!r} is not allowed in the sandbox")
        elif event in ("object.__setattr__", "object.__delattr__"):
            self._check_class_change(args[0], args[1])
        elif event in _DENIED_EVENTS or event.startswith(_DENIED_PREFIXES):
            self._deny(f"{event} is not allowed in the sandbox")

    def _deny(self, message: str) -> None:
        if self.armed:
            self.violations.append(message)
        raise SandboxViolation(message)

    def _inside(self, path: str, root: str) -> bool:
        return path == root or path.startswith(root.rstrip("/") + "/")

    def _check_path(self, event: str, path: Any, *, write: bool) -> None:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):  # a file descriptor: could be the worker's channel
            self._deny(f"{event} on file descriptor {path!r} is not allowed in the sandbox")
        real = self._realpath(path)
        if self._inside(real, self.scratch):
            if write and not self.allow_writes:
                self._deny(f"writing files is not allowed by this policy: {path!r}")
            return
        if not write and (
            real in self.read_files or any(self._inside(real, r) for r in self.read_roots)
        ):
            return
        action = "writing" if write else "reading"
        self._deny(f"{action} {path!r} is not allowed in the sandbox ({event})")

    def _check_open(self, args: tuple[Any, ...]) -> None:
        path, mode, flags = args
        write = bool(flags & _WRITE_FLAGS) or (
            isinstance(mode, str) and any(c in mode for c in "wax+")
        )
        self._check_path("open", path, write=write)

    def _check_write_event(self, event: str, args: tuple[Any, ...]) -> None:
        paths, dir_fds = _WRITE_EVENTS[event]
        for i in dir_fds:
            if args[i] not in (None, -1):
                self._deny(f"{event} relative to a directory descriptor is not allowed")
        for i in paths:
            self._check_path(event, args[i], write=True)

    def _check_import(self, name: str) -> None:
        if name in _DENIED_IMPORTS or name.partition(".")[0] in _DENIED_IMPORTS:
            self._deny(f"loading module {name!r} is not allowed in the sandbox")

    def _check_compile(self, args: tuple[Any, ...]) -> None:
        source, filename = args[0], args[1]
        if _trusted_filename(filename):
            return
        if isinstance(source, str):
            source = source.encode("utf-8", "surrogatepass")
        if isinstance(source, bytes):
            match = BACKSTOP_PATTERN.search(source)
            if match:
                self._deny(f"run-time code using {match.group().decode()!r} is not allowed")
        elif isinstance(source, ast.AST):
            for node in ast.walk(source):
                name = getattr(node, "attr", None) or getattr(node, "id", None)
                if name in BACKSTOP_NAMES:
                    self._deny(f"run-time code using {name!r} is not allowed")

    def _check_code(self, code: Any) -> None:
        if not isinstance(code, types.CodeType) or _trusted_filename(code.co_filename):
            return
        todo = [code]
        while todo:
            current = todo.pop()
            bad = BACKSTOP_NAMES.intersection(current.co_names)
            if bad:
                self._deny(f"run-time code using {sorted(bad)[0]!r} is not allowed")
            todo.extend(c for c in current.co_consts if isinstance(c, types.CodeType))

    def _check_class_change(self, obj: Any, name: str) -> None:
        # Classes defined by library modules are shared by every later run in this worker.
        if issubclass(type(obj), type) and _is_library_class(obj):
            self._deny(
                f"changing attribute {name!r} of library class {obj.__qualname__!r} is not allowed"
            )


def _trusted_filename(filename: Any) -> bool:
    # Absolute paths are module files being imported; the rest is checked sandbox code.
    if isinstance(filename, bytes):
        filename = os.fsdecode(filename)
    return isinstance(filename, str) and (
        filename.startswith("/") or filename in _CHECKED_FILENAMES
    )


def _is_library_class(cls: type) -> bool:
    module = sys.modules.get(getattr(cls, "__module__", None) or "")
    target: Any = module
    for part in str(getattr(cls, "__qualname__", "")).split("."):
        target = getattr(target, part, None)
    return module is not None and target is cls
