"""The pool server: a clean process that pre-forks workers and supervises them.

Started by the parent with a fresh interpreter (never forked from it), so it has not
imported torch or started threads, and forking workers from it is safe. It speaks
to the parent over one Unix socket and to each worker over its own socket pair,
multiplexed with ``select``: it queues jobs, hands them to idle workers, kills a
worker that overruns its wall-clock deadline, reaps workers that died, and forks
replacements. Worker output is relayed as opaque bytes; only the parent decodes
it, with the plain-data unpickler.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from societygym.sandbox.protocol import FrameReader, ProtocolError, read_frame, write_frame

KILL_GRACE_SECONDS = 0.5  # after the wall limit, before SIGKILL (the worker's own timer is first)
_READ_CHUNK = 1 << 16


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
        name = signal.Signals(signum).name
        return "crash", f"worker died with {name} (e.g. a C-level stack overflow)"
    return "crash", f"worker exited unexpectedly with status {os.waitstatus_to_exitcode(status)}"


class Server:
    def __init__(self, channel: int, workers: int) -> None:
        self.channel = channel
        self.reader = FrameReader()
        self.size = workers
        self.scratch_root = tempfile.mkdtemp(prefix="societygym-sandbox-")
        self.workers: dict[int, _Worker] = {}  # by fd
        self.queue: deque[_Request] = deque()
        self.preloaded: set[str] = set()
        self.stats = {"workers_started": 0, "workers_replaced": 0, "jobs": 0}

    def preload(self, modules: tuple[str, ...]) -> None:
        """Import modules once here, so that every later fork starts with them loaded."""
        for name in modules:
            if name not in self.preloaded:
                self.preloaded.add(name)
                with contextlib.suppress(Exception):
                    importlib.import_module(name)

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        scratch = tempfile.mkdtemp(dir=self.scratch_root)
        pid = os.fork()
        if pid == 0:  # the worker closes every other descriptor itself
            ours.close()
            worker.serve(theirs.detach(), scratch)
        theirs.close()
        fd = ours.detach()
        self.workers[fd] = _Worker(pid=pid, fd=fd, scratch=scratch)
        self.stats["workers_started"] += 1

    def _send(self, message: tuple[Any, ...]) -> None:
        write_frame(self.channel, plain.dumps(message))

    def _retire(self, w: _Worker, lost: tuple[str, str] | None = None) -> None:
        """Kill and reap a worker, report its job if it had one, and fork a replacement."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(w.pid, signal.SIGKILL)
        _, status = os.waitpid(w.pid, 0)
        os.close(w.fd)
        del self.workers[w.fd]
        shutil.rmtree(w.scratch, ignore_errors=True)
        if w.job_id is not None:
            error_type, error = lost or _death_reason(status, w)
            self._send(("lost", w.job_id, error_type, error, time.monotonic() - w.started))
        self.stats["workers_replaced"] += 1
        self._spawn()

    def _dispatch(self) -> None:
        for w in list(self.workers.values()):
            if not self.queue:
                return
            if w.job_id is None:
                request = self.queue.popleft()
                w.token = os.urandom(worker.TOKEN_BYTES)
                w.job_id = request.job_id
                w.wall_seconds, w.cpu_seconds = request.wall_seconds, request.cpu_seconds
                w.started = time.monotonic()
                w.deadline = w.started + request.wall_seconds + KILL_GRACE_SECONDS
                try:
                    write_frame(w.fd, w.token + request.payload)
                except OSError:
                    self._retire(w)

    def _on_parent_message(self, message: tuple[Any, ...]) -> bool:
        kind = message[0]
        if kind == "run":
            _, job_id, wall_seconds, cpu_seconds, modules, payload = message
            self.preload(modules)
            self.queue.append(_Request(job_id, wall_seconds, cpu_seconds, payload))
            self.stats["jobs"] += 1
        elif kind == "stats":
            self._send(("stats", message[1], dict(self.stats, workers=len(self.workers))))
        elif kind == "stop":
            return False
        return True

    def _on_worker_data(self, w: _Worker) -> None:
        try:
            data = os.read(w.fd, _READ_CHUNK)
            frames = w.reader.feed(data) if data else None
        except (OSError, ProtocolError):
            frames = None
        if frames is None:  # died, or sent garbage
            self._retire(w)
            return
        for frame in frames:
            # The token proves the frame answers the current job: a program cannot
            # forge the result of a later job it never saw.
            if w.job_id is None or frame[: worker.TOKEN_BYTES] != w.token or w.reader.pending:
                self._retire(w, ("crash", "worker broke the protocol"))
                return
            retire = frame[worker.TOKEN_BYTES] == 1
            self._send(("result", w.job_id, frame[worker.TOKEN_BYTES + 1 :]))
            w.job_id, w.deadline = None, float("inf")
            if retire:
                self._retire(w)
                return

    def _expire(self) -> None:
        now = time.monotonic()
        for w in list(self.workers.values()):
            if w.deadline <= now:
                reason = f"wall-clock limit of {w.wall_seconds:g} s exceeded (worker killed)"
                self._retire(w, ("timeout", reason))

    def serve_forever(self) -> None:
        for _ in range(self.size):
            self._spawn()
        while True:
            self._dispatch()
            deadline = min((w.deadline for w in self.workers.values()), default=float("inf"))
            timeout = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.channel, *self.workers], [], [], timeout)
            for fd in readable:
                if fd == self.channel:
                    data = os.read(self.channel, _READ_CHUNK)
                    if not data:
                        return
                    for frame in self.reader.feed(data):
                        if not self._on_parent_message(pickle.loads(frame)):
                            return
                elif fd in self.workers:
                    self._on_worker_data(self.workers[fd])
            self._expire()

    def shutdown(self) -> None:
        for w in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(w.pid, signal.SIGKILL)
        for w in self.workers.values():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(w.pid, 0)
        shutil.rmtree(self.scratch_root, ignore_errors=True)


def main(channel: int) -> None:
    """Entry point of the server process (see societygym.sandbox.pool for the launch)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    hello = pickle.loads(read_frame(channel))
    sys.path[:] = hello["sys_path"]
    server = Server(channel, hello["workers"])
    try:
        server.preload(tuple(hello["preload"]))
        server.serve_forever()
    finally:
        server.shutdown()
