"""Shared by the sandbox tests: a secret in the environment, a listener that counts the
connections it was offered, and a recorder of the signals the test process receives."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def secret_in_environment(name: str) -> Iterator[str]:
    """A random value under ``name`` in this process's environment, removed afterwards.

    Set it before the pool under test starts: its server must not see it."""
    value = os.urandom(8).hex()
    os.environ[name] = value
    try:
        yield value
    finally:
        del os.environ[name]


@contextmanager
def listening_socket() -> Iterator[socket.socket]:
    """A non-blocking TCP listener on a free local port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def connections(server: socket.socket) -> int:
    """How many connections reached ``server`` since the last call (accepts and closes them)."""
    count = 0
    while True:
        try:
            server.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


@contextmanager
def signals_received(signum: int = signal.SIGUSR1) -> Iterator[list[int]]:
    """Record (instead of acting on) ``signum`` sent to this process while inside."""
    received: list[int] = []
    previous = signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield received
    finally:
        signal.signal(signum, previous)
