"""The parent side: `Sandbox` talks to one server process that owns the workers."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import pickle
import socket
import subprocess
import sys
import threading
import typing
import weakref
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from societygym.sandbox import plain
from societygym.sandbox.isolation import LAYERS, describe_missing, missing
from societygym.sandbox.policy import STDLIB_MODULES, Policy
from societygym.sandbox.protocol import MAX_FRAME_BYTES, write_frame
from societygym.sandbox.result import ErrorType, RunResult
from societygym.sandbox.worker import Job

# Modules the server imports before forking, so workers start with them loaded.
DEFAULT_PRELOAD = (*sorted(STDLIB_MODULES), "_strptime", "linecache", "traceback")

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# The server does not run societygym/__init__.py, which may import heavy or
# thread-starting libraries (torch) that would make forking workers unsafe: a stub
# package with the right __path__ lets societygym.* submodules import normally.
# (So namespace modules must import what they use from its submodules.)
_BOOTSTRAP = """
import sys, types
stub = types.ModuleType("societygym")
stub.__path__ = [sys.argv[2]]
sys.modules["societygym"] = stub
from societygym.sandbox.zygote import main
main(int(sys.argv[1]), sys.argv[2])
"""
# The server's whole environment: nothing of the parent's (API keys live there).
# Numeric libraries must not start thread pools in a process that forks.
_SERVER_ENV = {
    "LC_ALL": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_RESULT_FIELDS = {
    "ok": bool,
    "stdout": str,
    "stderr": str,
    "error": str,
    "cpu_seconds": float,
    "wall_seconds": float,
}
_ERROR_TYPES = frozenset(typing.get_args(ErrorType))


class SandboxClosed(RuntimeError):
    """The sandbox was closed."""


class IsolationUnavailable(RuntimeError):
    """A policy requires kernel isolation that this machine's sandbox server lacks."""


_warned_missing = False  # the one-line notice about missing layers, once per process


def _notice_missing_layers(report: Mapping[str, str]) -> None:
    global _warned_missing
    line = describe_missing(report)
    if line and not _warned_missing:
        _warned_missing = True
        print(line, file=sys.stderr, flush=True)


def _result_from_payload(payload: bytes) -> RunResult:
    """Decode a worker's result; anything malformed is reported as a crash."""
    try:
        data = plain.loads(payload)
        fields = {k: data[k] for k in _RESULT_FIELDS}
        if not all(isinstance(fields[k], t) for k, t in _RESULT_FIELDS.items()):
            raise TypeError("bad field types")
        error_type = data["error_type"]
        if error_type is not None and error_type not in _ERROR_TYPES:
            raise ValueError("bad error type")
        return RunResult(value=data["value"], error_type=error_type, **fields)
    except Exception as exc:
        return RunResult.failure("crash", f"worker sent a malformed result ({exc})")


def _stop_server(process: subprocess.Popen, sock: socket.socket, owner_pid: int) -> None:
    if os.getpid() != owner_pid:  # a forked child must not stop its parent's server
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread; the server sees EOF
    sock.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class _ServerConnection:
    """One server process, the socket to it, and a reader thread resolving futures."""

    def __init__(self, workers: int, preload: tuple[str, ...], read_paths: tuple[str, ...]) -> None:
        ours, theirs = socket.socketpair()
        package = str(_PACKAGE_ROOT / "societygym")
        self.process = subprocess.Popen(
            # -I: no PYTHON* variables, no user site-packages, no script directory
            [sys.executable, "-I", "-c", _BOOTSTRAP, str(theirs.fileno()), package],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # terminal signals (Ctrl-C) go to the parent only
            env=dict(_SERVER_ENV),
            cwd="/",
        )
        theirs.close()
        self.sock = ours
        self.owner_pid = os.getpid()
        self.alive = True
        self._ids = itertools.count()
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()  # guards _pending and alive
        # Separate, so the reader thread never waits for a sender blocked on a full socket.
        self._send_lock = threading.Lock()
        # Absolute paths: workers run in their scratch directory, where '' would point.
        sys_path = [os.path.abspath(entry) for entry in sys.path]
        hello = {"sys_path": sys_path, "workers": workers, "preload": list(preload)}
        self._send({**hello, "read_paths": [os.path.abspath(p) for p in read_paths]})
        self.isolation = self._read_isolation_report()
        _notice_missing_layers(self.isolation)
        self._reader = threading.Thread(target=self._read_loop, name="sandbox-reader", daemon=True)
        self._reader.start()
        self._finalizer = weakref.finalize(self, _stop_server, self.process, ours, self.owner_pid)

    def _send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            write_frame(self.sock.fileno(), data)

    def request(self, kind: str, *fields: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if not self.alive:
                raise ConnectionError("sandbox server is not running")
            request_id = next(self._ids)
            self._pending[request_id] = future
        try:
            self._send((kind, request_id, *fields))
        except OSError as exc:
            with self._lock:
                self._pending.pop(request_id, None)
            raise ConnectionError("sandbox server is not running") from exc
        return future

    def _read_isolation_report(self) -> dict[str, str]:
        """The server's first message: which kernel layers it has (see isolation.py)."""
        try:
            size = int.from_bytes(self._recv_exactly(4), "big")
            kind, report = plain.loads(self._recv_exactly(min(size, 1 << 16)))
            if kind != "isolation" or not isinstance(report, dict):
                raise ValueError(kind)
            return {str(k): str(v) for k, v in report.items()}
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            self.alive = False
            return dict.fromkeys(LAYERS, "the sandbox server did not start")

    def _recv_exactly(self, size: int) -> bytes:
        buffer = bytearray()
        while len(buffer) < size:
            chunk = self.sock.recv(min(size - len(buffer), 1 << 20))
            if not chunk:
                raise EOFError
            buffer += chunk
        return bytes(buffer)

    def _read_loop(self) -> None:
        try:
            while True:
                size = int.from_bytes(self._recv_exactly(4), "big")
                if size > MAX_FRAME_BYTES:
                    raise EOFError
                self._deliver(plain.loads(self._recv_exactly(size)))
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        with self._lock:
            self.alive = False
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_result(RunResult.failure("crash", "sandbox server exited unexpectedly"))

    def _deliver(self, message: tuple[Any, ...]) -> None:
        kind, request_id = message[0], message[1]
        with self._lock:
            future = self._pending.pop(request_id, None)
        if future is None:
            return
        if kind == "result":
            future.set_result(_result_from_payload(message[2]))
        elif kind == "lost":
            _, _, error_type, error, wall = message
            future.set_result(RunResult.failure(error_type, error, wall_seconds=wall))
        else:
            future.set_result(message[2])

    def close(self) -> None:
        self._finalizer()


class Sandbox:
    """A pool of pre-forked, one-shot workers that run untrusted Python under a `Policy`.

    Nothing starts until the first run. Safe to share between threads; a process
    forked from the owner gets its own server on first use. ``read_paths`` adds
    read-only paths to the workers' file-system view (for namespace modules that
    live outside the Python installation and the societygym package, e.g. tests).
    """

    def __init__(
        self,
        workers: int = 2,
        policy: Policy | None = None,
        *,
        preload: Iterable[str] = DEFAULT_PRELOAD,
        read_paths: Iterable[str] = (),
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.policy = policy if policy is not None else Policy()
        self.preload = tuple(preload)
        self.read_paths = tuple(read_paths)
        self.closed = False
        self._server: _ServerConnection | None = None
        self._lock = threading.Lock()
        _live_sandboxes.add(self)

    def _connection(self) -> _ServerConnection:
        with self._lock:
            if self.closed:
                raise SandboxClosed("sandbox is closed")
            if self._server is None or not self._server.alive:
                if self._server is not None:
                    self._server.close()  # reap the dead server
                self._server = _ServerConnection(self.workers, self.preload, self.read_paths)
            return self._server

    def _request(self, kind: str, *fields: Any) -> Future:
        try:
            return self._connection().request(kind, *fields)
        except ConnectionError:  # the server died since the last call: start a new one once
            return self._connection().request(kind, *fields)

    def submit(
        self,
        program: str,
        *,
        entry: str | None = None,
        args: tuple[Any, ...] = (),
        result_name: str | None = None,
        policy: Policy | None = None,
        timeout: float | None = None,
        stdin: str = "",
    ) -> Future:
        """Queue a run; the future resolves to a RunResult."""
        policy = policy if policy is not None else self.policy
        if timeout is not None:
            policy = dataclasses.replace(policy, wall_seconds=timeout)
        if policy.isolation == "required" or not policy.python_layers:
            off = missing(self.isolation())
            if off:
                needs = "isolation='required'" if policy.python_layers else "python_layers=False"
                raise IsolationUnavailable(
                    f"the policy has {needs} but this sandbox lacks: "
                    + "; ".join(f"{layer} ({why})" for layer, why in off.items())
                )
        job = Job(program, policy, entry, tuple(args), result_name, stdin)
        payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        modules = policy.modules_to_preload()
        return self._request("run", policy.wall_seconds, policy.cpu_seconds, modules, payload)

    def run(
        self,
        program: str,
        *,
        entry: str | None = None,
        args: tuple[Any, ...] = (),
        result_name: str | None = None,
        policy: Policy | None = None,
        timeout: float | None = None,
        stdin: str = "",
    ) -> RunResult:
        """Run ``program``; then call ``entry(*args)`` or read ``result_name`` as the value."""
        return self.submit(
            program,
            entry=entry,
            args=args,
            result_name=result_name,
            policy=policy,
            timeout=timeout,
            stdin=stdin,
        ).result()

    def run_many(self, jobs: Iterable[str | Mapping[str, Any]]) -> list[RunResult]:
        """Run jobs in parallel over the pool; each job is a program or `run` keyword args."""
        futures = [self.submit(job) if isinstance(job, str) else self.submit(**job) for job in jobs]
        return [future.result() for future in futures]

    def isolation(self) -> dict[str, str]:
        """Each kernel layer mapped to "" (on) or why it is off; starts the server."""
        return dict(self._connection().isolation)

    def stats(self) -> dict[str, int]:
        """Server counters: workers, workers_started, workers_replaced, jobs."""
        return self._request("stats").result()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _forget_server_after_fork(self) -> None:
        # The parent's server: this process starts its own. Closing our copy of the
        # socket lets the server still notice when the parent goes away.
        self._lock = threading.Lock()
        if self._server is not None:
            self._server.sock.close()
            self._server = None


_live_sandboxes: weakref.WeakSet[Sandbox] = weakref.WeakSet()
_default: Sandbox | None = None
_default_lock = threading.Lock()


def get_sandbox() -> Sandbox:
    """The shared default pool (2 workers), created on first use and stopped at exit."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Sandbox()
        return _default


def _after_fork_in_child() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for sandbox in list(_live_sandboxes):
        sandbox._forget_server_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
