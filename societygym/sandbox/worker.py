"""Worker process: runs exactly one job inside the restrictions, then exits.

A worker is forked from the (jailed) server with its own socket and scratch
directory, ahead of need. It confines itself (`Confinement.confine_worker`:
Landlock, seccomp, a new session), hardens the process (resource limits, closed
descriptors), then reads its job, installs the audit hook, builds the program's
namespace, arms the limits, runs, and sends back a plain-data result. The server
then kills it: every run starts from the pristine server state.
"""

from __future__ import annotations

import dataclasses
import functools
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
import time
import traceback
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from societygym.sandbox import plain
from societygym.sandbox.audit import AuditGuard
from societygym.sandbox.capture import CappedStream, OutputBudget
from societygym.sandbox.checks import check_source
from societygym.sandbox.errors import ForbiddenImport, SandboxViolation, TimeLimitExceeded
from societygym.sandbox.jail import TZ_PATHS, python_paths
from societygym.sandbox.namespace import (
    EXEC_FILENAME,
    PROGRAM_NAME,
    ImportGuard,
    build_namespace,
)
from societygym.sandbox.policy import Policy
from societygym.sandbox.protocol import read_frame, write_frame

if TYPE_CHECKING:
    from societygym.sandbox.confinement import Confinement

PROGRAM_FILENAME = "<program>"
TOKEN_BYTES = 8
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024  # per file written in the scratch directory
MAX_OPEN_FILES = 256
_READ_FILES = ("/dev/null", "/dev/urandom", "/etc/localtime")
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


def _address_space_bytes(at_fork: int) -> int:
    """This process's size; inside the jail (no /proc) the size it was forked at."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return at_fork


def _set_run_rlimits(policy: Policy, base_bytes: int) -> None:
    # Memory: the run may grow the address space by memory_mb. CPU: a kernel-enforced
    # backstop one second past the timer, for programs that swallow TimeLimitExceeded.
    memory = base_bytes + policy.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, resource.RLIM_INFINITY))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(usage.ru_utime + usage.ru_stime + policy.cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.RLIM_INFINITY))


def _clear_run_rlimits() -> None:
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_CPU):
        resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _harden(channel: int, scratch: str) -> None:
    """Process setup before the job is read."""
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


@functools.cache
def audit_roots() -> tuple[str, ...]:
    """Where the audit hook lets a run read; computed once in the server, before forks."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # societygym
    return tuple(sorted({os.path.realpath(p) for p in (*python_paths(package), *TZ_PATHS)}))


def _audit_guard(scratch: str) -> AuditGuard:
    """The in-process backstop (not yet installed: that cannot be undone)."""
    return AuditGuard(scratch, audit_roots(), _READ_FILES)


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


def _reseed() -> None:
    if "random" in sys.modules:
        sys.modules["random"].seed()  # fresh entropy: forked workers share the server's state


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
    def __init__(self, channel: int, scratch: str, memory_base: int) -> None:
        self.channel = channel
        self.scratch = scratch
        self.memory_base = memory_base
        _harden(channel, scratch)
        self.audit = _audit_guard(scratch)
        self.clock = _RunClock()
        self.python_layers = True
        gc.freeze()  # the end-of-run collection then only scans objects the run made

    def serve_one(self, setup_error: str = "") -> NoReturn:
        try:
            frame = read_frame(self.channel)
        except (EOFError, OSError):
            os._exit(0)
        token = frame[:TOKEN_BYTES]
        if setup_error:
            result = _failure("crash", f"worker confinement failed: {setup_error}")
        else:
            try:
                job = pickle.loads(frame[TOKEN_BYTES:])  # may import the namespace's module
            except Exception as exc:
                result = _failure("exception", f"sandbox setup failed: {exc!r}")
            else:
                self.python_layers = job.policy.python_layers
                if self.python_layers:
                    sys.addaudithook(self.audit)  # cannot be removed: installed last
                result = self.execute(job)
        payload = plain.dumps(result)
        if len(payload) > MAX_RESULT_BYTES:
            result.update(ok=False, value=None, error_type="bad_value")
            result["error"] = f"result is larger than {MAX_RESULT_BYTES} bytes"
            payload = plain.dumps(result)
        write_frame(self.channel, token + payload)
        os._exit(0)

    def _prepare(self, job: Job) -> types.ModuleType:
        # The allow-list is not imported here: the server preloaded it before forking
        # (`Policy.modules_to_preload`), and a module it could not load is imported,
        # or fails, when the program asks for it. Touching every module object here
        # would copy their pages into this short-lived process for nothing.
        policy = job.policy
        values = _namespace_values(policy)
        if policy.python_layers:
            guard = ImportGuard(policy.allowed_imports, self.audit.trusted_import)
            scratch = self.scratch if policy.allow_scratch_writes else None
            module = build_namespace(guard, values, scratch)
        else:  # the kernel-layer tests: the real builtins, any import
            module = types.ModuleType(PROGRAM_NAME)
            vars(module).update(values)
        _reseed()
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
            _set_run_rlimits(policy, _address_space_bytes(self.memory_base))
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
            source = check_source(job.program) if self.python_layers else job.program
            code = compile(source, PROGRAM_FILENAME, "exec", dont_inherit=True)
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


def serve(channel: int, scratch: str, memory_base: int, confinement: Confinement) -> NoReturn:
    """Entry point in the freshly forked child; never returns."""
    try:
        setup_error = ""
        try:
            confinement.confine_worker(scratch)
        except OSError as exc:  # reported as this job's failure, never run unconfined
            setup_error = str(exc)
        _Runner(channel, scratch, memory_base).serve_one(setup_error)
    finally:
        os._exit(1)
