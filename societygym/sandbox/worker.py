"""Worker process: runs one job at a time inside the restrictions.

A worker is forked from the server with its own socket and scratch directory. It
hardens itself once (resource limits, closed descriptors, audit hook), then loops:
read a job, build a fresh namespace, arm the limits and the audit hook, run, send
back a plain-data result. After a run that broke a limit or tried something
forbidden it asks to be retired, so the next job gets a pristine process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import io
import linecache
import math
import os
import pickle
import resource
import signal
import sys
import sysconfig
import time
import traceback
import types
import warnings
from collections.abc import Mapping
from typing import Any, NoReturn

from societygym.sandbox import plain
from societygym.sandbox.audit import AuditGuard
from societygym.sandbox.capture import CappedStream, OutputBudget
from societygym.sandbox.checks import check_source
from societygym.sandbox.errors import ForbiddenImport, SandboxViolation, TimeLimitExceeded
from societygym.sandbox.namespace import (
    EXEC_FILENAME,
    PROGRAM_NAME,
    ImportGuard,
    build_namespace,
)
from societygym.sandbox.policy import Policy
from societygym.sandbox.protocol import read_frame, write_frame

PROGRAM_FILENAME = "<program>"
TOKEN_BYTES = 8
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024  # per file written in the scratch directory
MAX_OPEN_FILES = 256
_TZ_DIRS = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo", "/etc/zoneinfo")
_READ_FILES = ("/dev/null", "/dev/urandom", "/etc/localtime")
# Error types after which the worker is replaced rather than reused (so are runs that
# the audit hook refused something, or that changed a library class).
_RETIRING_ERRORS = frozenset({"timeout", "memory", "crash"})
MAX_ERROR_CHARS = 8000


@dataclasses.dataclass(frozen=True)
class Job:
    """One run, as the parent sends it (trusted data: pickled by the parent)."""

    program: str
    policy: Policy
    entry: str | None = None
    args: tuple[Any, ...] = ()
    result_name: str | None = None
    stdin: str = ""


class _RunClock:
    """Wall and CPU budgets as timers that raise TimeLimitExceeded inside the program."""

    def __init__(self) -> None:
        self.active = False
        self.reason = ""
        self._messages: dict[int, str] = {}
        signal.signal(signal.SIGALRM, self._expired)
        signal.signal(signal.SIGPROF, self._expired)

    def _expired(self, signum: int, frame: Any) -> None:
        if not self.active:  # a late signal after the run: nothing to interrupt
            return
        self.reason = self._messages[signum]
        raise TimeLimitExceeded(self.reason)

    def start(self, policy: Policy) -> None:
        self._messages = {
            signal.SIGALRM: f"wall-clock limit of {policy.wall_seconds:g} s exceeded",
            signal.SIGPROF: f"CPU time limit of {policy.cpu_seconds:g} s exceeded",
        }
        self.reason = ""
        self.active = True
        signal.setitimer(signal.ITIMER_REAL, policy.wall_seconds)
        signal.setitimer(signal.ITIMER_PROF, policy.cpu_seconds)

    def stop(self) -> None:
        self.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _set_run_rlimits(policy: Policy) -> None:
    # Memory: the run may grow the address space by memory_mb. CPU: a kernel-enforced
    # backstop one second past the timer, for programs that swallow TimeLimitExceeded.
    memory = _address_space_bytes() + policy.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, resource.RLIM_INFINITY))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(usage.ru_utime + usage.ru_stime + policy.cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.RLIM_INFINITY))


def _clear_run_rlimits() -> None:
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_CPU):
        resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _harden(channel: int, scratch: str) -> AuditGuard:
    """One-time process setup; the audit hook goes last because it cannot be removed."""
    os.closerange(3, channel)
    os.closerange(channel + 1, os.sysconf("SC_OPEN_MAX"))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # C-level writes (crash reports) must not reach the server's terminal
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir(scratch)
    os.umask(0o077)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no effect for root; the hook covers it
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write raises instead of killing
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True  # importing must not write .pyc files outside the scratch dir
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # societygym
    roots.update(_TZ_DIRS)
    guard = AuditGuard(scratch, tuple(sorted(roots)), _READ_FILES)
    sys.addaudithook(guard)
    return guard


def _namespace_values(policy: Policy) -> Mapping[str, Any]:
    spec = policy.namespace
    if spec is None:
        return {}
    if isinstance(spec, str):
        module_name, _, attr = spec.partition(":")
        value: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            value = getattr(value, part)
        if callable(value):  # a factory: fresh DSL state for every run
            value = value()
    else:
        value = spec
    if not isinstance(value, Mapping):
        raise TypeError(f"namespace {spec!r} did not produce a mapping")
    return value


_PRISTINE_WARNING_FILTERS = list(warnings.filters)


def _reset_shared_state() -> None:
    """Reset the known process-wide state of allowed stdlib modules between runs."""
    warnings.filters[:] = _PRISTINE_WARNING_FILTERS
    if "random" in sys.modules:
        sys.modules["random"].seed()  # fresh entropy: forked workers share the parent's state
    if "decimal" in sys.modules:
        decimal = sys.modules["decimal"]
        decimal.setcontext(decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN))
    if "calendar" in sys.modules:
        sys.modules["calendar"].setfirstweekday(0)


def _exception_line(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):  # Python's own format shows the line and a caret
        return "".join(traceback.format_exception_only(type(exc), exc))
    try:
        text = str(exc)
    except Exception:
        text = "<exception str() failed>"
    # The bare class name: module prefixes such as "__sandbox__." only add noise.
    return f"{type(exc).__qualname__}: {text}\n" if text else f"{type(exc).__qualname__}\n"


def _describe(exc: BaseException) -> str:
    """The exception as Python prints it, keeping only the program's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if f.filename in (PROGRAM_FILENAME, EXEC_FILENAME)]
    head = "Traceback (most recent call last):\n" + "".join(traceback.format_list(own))
    text = (head if own else "") + _exception_line(exc)
    return text if len(text) <= MAX_ERROR_CHARS else "...\n" + text[-MAX_ERROR_CHARS:]


def _contained(outcome: list[Any], function: Any, *args: Any) -> None:
    """Call ``function``; store its value in outcome[0] or its exception in outcome[1].

    Kept tiny and allocation-free on the error path: CPython 3.11 spins forever when a
    MemoryError unwinds into a handler whose bytecode offset is not a cached small int,
    so the program's exceptions must stop here, where every offset is below 256.
    """
    try:
        outcome[0] = function(*args)
    except BaseException as exc:
        outcome[1] = exc


class _Runner:
    def __init__(self, channel: int, scratch: str) -> None:
        self.channel = channel
        self.scratch = scratch
        self.audit = _harden(channel, scratch)
        self.clock = _RunClock()
        self.guards: dict[frozenset[str], ImportGuard] = {}
        self.preloaded: set[str] = set()
        gc.freeze()

    def serve(self) -> NoReturn:
        while True:
            try:
                frame = read_frame(self.channel)
            except (EOFError, OSError):
                os._exit(0)
            token = frame[:TOKEN_BYTES]
            try:
                job = pickle.loads(frame[TOKEN_BYTES:])  # may import the namespace's module
            except Exception as exc:
                result = _failure("exception", f"sandbox setup failed: {exc!r}")
                write_frame(self.channel, token + bytes([True]) + plain.dumps(result))
                os._exit(0)
            result = self.execute(job)
            retire = (
                result["error_type"] in _RETIRING_ERRORS
                or bool(self.audit.violations)
                or self._library_changed(job)
            )
            payload = plain.dumps(result)
            if len(payload) > MAX_RESULT_BYTES:
                result.update(ok=False, value=None, error_type="bad_value")
                result["error"] = f"result is larger than {MAX_RESULT_BYTES} bytes"
                payload = plain.dumps(result)
            write_frame(self.channel, token + bytes([retire]) + payload)
            if retire:
                os._exit(0)

    def _library_changed(self, job: Job) -> bool:
        guard = self.guards.get(job.policy.allowed_imports)
        return guard is not None and guard.used and guard.classes_changed()

    def _prepare(self, job: Job) -> types.ModuleType:
        policy = job.policy
        new_modules = policy.allowed_imports - self.preloaded
        for name in new_modules:
            self.preloaded.add(name)
            # Optional modules may be missing: importing them then fails inside the run.
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        if new_modules:
            gc.freeze()  # the per-run collection then only scans objects made by runs
        guard = self.guards.get(policy.allowed_imports)
        if guard is None:
            guard = ImportGuard(policy.allowed_imports, self.audit.trusted_import)
            self.guards[policy.allowed_imports] = guard
        guard.used = False
        _empty_directory(self.scratch)  # leftovers of the previous run
        scratch = self.scratch if policy.allow_scratch_writes else None
        module = build_namespace(guard, _namespace_values(policy), scratch)
        _reset_shared_state()
        source_lines = job.program.splitlines(keepends=True)
        linecache.cache[PROGRAM_FILENAME] = (len(job.program), None, source_lines, PROGRAM_FILENAME)
        return module

    def execute(self, job: Job) -> dict[str, Any]:
        policy = job.policy
        try:
            module = self._prepare(job)
        except Exception as exc:
            return _failure("exception", f"sandbox setup failed: {exc!r}")
        budget = OutputBudget(policy.max_output_bytes)
        out, err = CappedStream(budget), CappedStream(budget)
        saved_streams = sys.stdout, sys.stderr, sys.stdin
        sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO(job.stdin)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        result: dict[str, Any]
        sys.modules[PROGRAM_NAME] = module
        try:
            _set_run_rlimits(policy)
            self.audit.arm(policy.allow_scratch_writes)
            self.clock.start(policy)
            try:
                result = self._outcome(job, vars(module), budget)
            except BaseException as exc:  # e.g. the timer firing while the error is formatted
                flagged = self._failure_from_flags(policy, budget, exc)
                result = flagged or _failure("exception", repr(exc))
            del sys.modules[PROGRAM_NAME]
            vars(module).clear()
            gc.collect()  # run program-defined __del__ methods while still restricted
        finally:
            self.clock.stop()
            self.audit.disarm()
            _clear_run_rlimits()
            sys.stdout, sys.stderr, sys.stdin = saved_streams
        result.update(
            stdout=out.getvalue(),
            stderr=err.getvalue(),
            cpu_seconds=time.process_time() - cpu_start,
            wall_seconds=time.perf_counter() - wall_start,
        )
        return result

    def _outcome(self, job: Job, namespace: dict[str, Any], budget: OutputBudget) -> dict[str, Any]:
        try:
            code = compile(check_source(job.program), PROGRAM_FILENAME, "exec", dont_inherit=True)
        except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:
            if self.clock.reason:
                return _failure("timeout", self.clock.reason)
            return _failure("syntax", "".join(traceback.format_exception_only(type(exc), exc)))
        except SandboxViolation as exc:
            return _failure("forbidden", str(exc))
        outcome: list[Any] = [None, None]
        _contained(outcome, exec, code, namespace)
        if isinstance(outcome[1], SystemExit) and outcome[1].code in (None, 0):
            outcome[1] = None  # exit(0) ends the program normally
        if outcome[1] is None:
            _contained(outcome, self._value, job, namespace)
        if isinstance(outcome[1], MemoryError):
            # Give the memory back before anything else allocates: the namespace and
            # the frames the traceback keeps alive hold it.
            outcome[1].with_traceback(None)
            namespace.clear()
        value, error = outcome
        if error is None:
            try:
                value = plain.to_plain(value)
            except plain.NotPlainData as exc:
                error = exc
        flagged = self._failure_from_flags(job.policy, budget, error)
        if flagged:
            return flagged
        if error is None:
            return _result(value)
        if isinstance(error, plain.NotPlainData):
            return _failure("bad_value", str(error))
        self.audit.allow_frames = True  # formatting the traceback reads tb_frame
        try:
            described = _describe(error)
        finally:
            self.audit.allow_frames = False
        kind = (
            "forbidden" if isinstance(error, (SandboxViolation, ForbiddenImport)) else "exception"
        )
        return _failure(kind, described)

    def _value(self, job: Job, namespace: dict[str, Any]) -> Any:
        if job.entry is not None:
            function = namespace.get(job.entry)
            if not callable(function):
                raise NameError(f"the program does not define a function {job.entry!r}")
            return function(*job.args)
        if job.result_name is not None:
            if job.result_name not in namespace:
                raise NameError(f"the program does not define {job.result_name!r}")
            return namespace[job.result_name]
        return None

    def _failure_from_flags(
        self, policy: Policy, budget: OutputBudget, error: BaseException | None = None
    ) -> dict[str, Any] | None:
        """Limits and refusals count even when the program caught the exception."""
        if self.clock.reason:
            return _failure("timeout", self.clock.reason)
        if isinstance(error, MemoryError):
            return _failure("memory", f"memory limit of {policy.memory_mb} MB exceeded")
        if budget.exceeded:
            return _failure("output_limit", f"output exceeded {budget.limit} bytes")
        if self.audit.violations:
            return _failure("forbidden", self.audit.violations[0])
        return None


def _result(value: Any = None, error_type: str | None = None, error: str = "") -> dict[str, Any]:
    """A RunResult as plain data (the parent rebuilds and checks it)."""
    return {
        "ok": error_type is None,
        "value": value,
        "error_type": error_type,
        "error": error,
        "stdout": "",
        "stderr": "",
        "cpu_seconds": 0.0,
        "wall_seconds": 0.0,
    }


def _failure(error_type: str, error: str) -> dict[str, Any]:
    return _result(error_type=error_type, error=error)


def _empty_directory(path: str) -> None:
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _empty_directory(entry.path)
            os.rmdir(entry.path)
        else:
            os.remove(entry.path)


def serve(channel: int, scratch: str) -> NoReturn:
    """Entry point in the freshly forked child; never returns."""
    try:
        _Runner(channel, scratch).serve()
    finally:
        os._exit(1)
