"""The pool server: a clean process that jails itself and forks one worker per run.

Started by the parent with a fresh interpreter and a minimal environment (never
forked from it), so it has not imported torch, started threads or seen the
parent's secrets. It first builds its `Confinement` (namespaces, read-only file
system, no capabilities, seccomp; see `isolation.py`) and reports it to the parent.
Then it speaks to the parent over one Unix socket and to each worker over its own
socket pair, multiplexed with ``select``: it keeps ``workers`` confined workers
forked ahead of need, hands each queued job to one of them, kills a worker that
overruns its wall-clock deadline, and retires every worker after its one job, so
no run can leave anything behind for a later one. Worker output is relayed as
opaque bytes; only the parent decodes it, with the plain-data unpickler.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import os
import pickle
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from typing import Any

from societygym.sandbox import plain, worker
from societygym.sandbox.confinement import Confinement
from societygym.sandbox.protocol import FrameReader, ProtocolError, read_frame, write_frame

KILL_GRACE_SECONDS = 0.5  # after the wall limit, before SIGKILL (the worker's own timer is first)
_READ_CHUNK = 1 << 16
_REAP_INTERVAL = 0.05  # seconds; killed workers are collected without blocking


@dataclasses.dataclass
class _Worker:
    pid: int
    fd: int
    scratch: str
    reader: FrameReader = dataclasses.field(default_factory=FrameReader)
    job_id: int | None = None
    token: bytes = b""
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    started: float = 0.0
    deadline: float = float("inf")


@dataclasses.dataclass
class _Request:
    job_id: int
    wall_seconds: float
    cpu_seconds: float
    payload: bytes


def _death_reason(status: int, w: _Worker) -> tuple[str, str]:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum == signal.SIGXCPU:
            return "timeout", f"CPU time limit of {w.cpu_seconds:g} s exceeded (SIGXCPU)"
        if signum == signal.SIGKILL:
            return "memory", "worker was killed (SIGKILL), probably by the out-of-memory killer"
        if signum == signal.SIGSYS:
            return "forbidden", "the program made a system call the sandbox forbids (SIGSYS)"
        name = signal.Signals(signum).name
        return "crash", f"worker died with {name} (e.g. a C-level stack overflow)"
    return "crash", f"worker exited unexpectedly with status {os.waitstatus_to_exitcode(status)}"


class Server:
    def __init__(self, channel: int, workers: int, confinement: Confinement) -> None:
        self.channel = channel
        self.reader = FrameReader()
        self.size = workers
        self.confinement = confinement
        self.idle: dict[int, _Worker] = {}  # by fd: forked, confined, waiting for a job
        self.busy: dict[int, _Worker] = {}
        self.exiting: set[int] = set()  # pids killed after their job, not yet reaped
        self.queue: deque[_Request] = deque()
        self.preloaded: set[str] = set()
        self.stats = {"workers_started": 0, "workers_replaced": 0, "jobs": 0}

    def preload(self, modules: tuple[str, ...]) -> None:
        """Import modules once here, so that every later fork starts with them loaded."""
        new = [name for name in modules if name not in self.preloaded]
        for name in new:
            self.preloaded.add(name)
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        if new:  # idle workers lack them: fork fresh ones rather than import in each
            gc.freeze()  # what forks inherit stays out of their garbage collections
            for w in list(self.idle.values()):
                self._discard(self.idle.pop(w.fd))

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        scratch = tempfile.mkdtemp(dir=self.confinement.scratch_root)
        memory_base = self.confinement.address_space_bytes()
        pid = os.fork()
        if pid == 0:  # the worker confines itself and closes every other descriptor
            worker.serve(theirs.detach(), scratch, memory_base, self.confinement)
        theirs.close()
        fd = ours.detach()
        self.idle[fd] = _Worker(pid=pid, fd=fd, scratch=scratch)
        self.stats["workers_started"] += 1

    def _top_up(self) -> None:
        while len(self.idle) < self.size:
            self._spawn()

    def _send(self, message: tuple[Any, ...]) -> None:
        write_frame(self.channel, plain.dumps(message))

    def _discard(self, w: _Worker) -> None:
        """Kill a worker without waiting for it; `_reap` collects it later."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(w.pid, signal.SIGKILL)
        os.close(w.fd)
        shutil.rmtree(w.scratch, ignore_errors=True)
        self.exiting.add(w.pid)

    def _reap(self) -> None:
        for pid in list(self.exiting):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            self.exiting.discard(pid)

    def _lose(self, w: _Worker, lost: tuple[str, str] | None = None) -> None:
        """A busy worker failed: kill and reap it, and report its job."""
        del self.busy[w.fd]
        with contextlib.suppress(ProcessLookupError):
            os.kill(w.pid, signal.SIGKILL)
        _, status = os.waitpid(w.pid, 0)
        os.close(w.fd)
        shutil.rmtree(w.scratch, ignore_errors=True)
        error_type, error = lost or _death_reason(status, w)
        self._send(("lost", w.job_id, error_type, error, time.monotonic() - w.started))
        self.stats["workers_replaced"] += 1

    def _dispatch(self) -> None:
        if self.queue:
            self._top_up()  # e.g. after a preload retired the idle workers
        while self.queue and self.idle and len(self.busy) < self.size:
            fd, w = next(iter(self.idle.items()))
            del self.idle[fd]
            request = self.queue.popleft()
            w.token = os.urandom(worker.TOKEN_BYTES)
            w.job_id = request.job_id
            w.wall_seconds, w.cpu_seconds = request.wall_seconds, request.cpu_seconds
            w.started = time.monotonic()
            w.deadline = w.started + request.wall_seconds + KILL_GRACE_SECONDS
            self.busy[fd] = w
            try:
                write_frame(w.fd, w.token + request.payload)
            except OSError:
                self._lose(w)
        self._top_up()  # forks happen while the dispatched jobs run

    def _on_parent_message(self, message: tuple[Any, ...]) -> bool:
        kind = message[0]
        if kind == "run":
            _, job_id, wall_seconds, cpu_seconds, modules, payload = message
            self.preload(modules)
            self.queue.append(_Request(job_id, wall_seconds, cpu_seconds, payload))
            self.stats["jobs"] += 1
        elif kind == "stats":
            workers = len(self.idle) + len(self.busy)
            self._send(("stats", message[1], dict(self.stats, workers=workers)))
        elif kind == "stop":
            return False
        return True

    def _on_worker_data(self, w: _Worker) -> None:
        if w.fd in self.idle:  # a worker that died (or spoke) before it got a job
            self._discard(self.idle.pop(w.fd))
            return
        try:
            data = os.read(w.fd, _READ_CHUNK)
            frames = w.reader.feed(data) if data else None
        except (OSError, ProtocolError):
            frames = None
        if frames is None:  # died, or sent garbage
            self._lose(w)
            return
        if not frames:
            return
        # The token proves the frame answers this job: nothing the worker could have
        # sent before it had the job counts.
        frame = frames[0]
        if frame[: worker.TOKEN_BYTES] != w.token or len(frames) > 1 or w.reader.pending:
            self._lose(w, ("crash", "worker broke the protocol"))
            return
        self._send(("result", w.job_id, frame[worker.TOKEN_BYTES :]))
        del self.busy[w.fd]
        self._discard(w)  # one job per process: nothing survives into the next run

    def _expire(self) -> None:
        now = time.monotonic()
        for w in list(self.busy.values()):
            if w.deadline <= now:
                reason = f"wall-clock limit of {w.wall_seconds:g} s exceeded (worker killed)"
                self._lose(w, ("timeout", reason))

    def serve_forever(self) -> None:
        self._top_up()
        while True:
            self._dispatch()
            self._reap()
            deadline = min((w.deadline for w in self.busy.values()), default=float("inf"))
            timeout = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            if self.exiting and (timeout is None or timeout > _REAP_INTERVAL):
                timeout = _REAP_INTERVAL
            fds = [self.channel, *self.idle, *self.busy]
            readable, _, _ = select.select(fds, [], [], timeout)
            for fd in readable:
                if fd == self.channel:
                    data = os.read(self.channel, _READ_CHUNK)
                    if not data:
                        return
                    for frame in self.reader.feed(data):
                        if not self._on_parent_message(pickle.loads(frame)):
                            return
                elif fd in self.busy:
                    self._on_worker_data(self.busy[fd])
                elif fd in self.idle:
                    self._on_worker_data(self.idle[fd])
            self._expire()

    def shutdown(self) -> None:
        for w in [*self.idle.values(), *self.busy.values()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w.pid, signal.SIGKILL)
            self.exiting.add(w.pid)
        for pid in self.exiting:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        shutil.rmtree(self.confinement.scratch_root, ignore_errors=True)


def main(channel: int, package_dir: str) -> None:
    """Entry point of the server process (see societygym.sandbox.pool for the launch)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    hello = pickle.loads(read_frame(channel))
    sys.path[:] = hello["sys_path"]
    confinement = Confinement(package_dir, tuple(hello["read_paths"]))
    worker.audit_roots()  # computed once here rather than in every fork
    write_frame(channel, plain.dumps(("isolation", confinement.report)))
    server = Server(channel, hello["workers"], confinement)
    try:
        server.preload(tuple(hello["preload"]))
        server.serve_forever()
    finally:
        server.shutdown()
