"""Landlock (Linux 5.13+): a per-process file-system and network allow-list.

An extra layer under the mount namespace: even a path that is visible stays
unreadable unless a rule grants it, writes are possible only in the worker's own
scratch directory, TCP bind/connect are refused (ABI 4+), and signals or abstract
Unix sockets cannot reach processes outside the worker's domain (ABI 6+).
Everything a newer ABI adds is handled when the kernel has it.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable

from societygym.sandbox.linux import syscall

_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5

# File-system rights each ABI version can handle (they accumulate).
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_TCP = 0b11  # bind and connect, ABI 4
_SCOPES = 0b11  # abstract Unix sockets and signals, ABI 6

READ = READ_FILE | READ_DIR
SCRATCH = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | TRUNCATE
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 where Landlock is absent or disabled."""
    try:
        return syscall("landlock_create_ruleset", None, 0, _CREATE_RULESET_VERSION)
    except OSError:
        return 0


def _handled_fs(abi: int) -> int:
    return max((rights for version, rights in _FS_BY_ABI.items() if version <= abi), default=0)


def restrict_self(abi: int, rules: Iterable[tuple[int, int]]) -> None:
    """Confine this process: only the given (O_PATH descriptor, rights) rules are allowed.

    Requires no_new_privs. Rights outside what ``abi`` handles are dropped; a
    descriptor of a regular file gets the file rights only.
    """
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, _NET_TCP if abi >= 4 else 0, _SCOPES if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)  # the struct as this ABI defines it
    ruleset = syscall("landlock_create_ruleset", ctypes.addressof(attr), size, 0)
    try:
        for fd, rights in rules:
            allowed = rights & handled
            if not stat.S_ISDIR(os.fstat(fd).st_mode):  # files take file rights only
                allowed &= _FILE_RIGHTS
            rule = _PathBeneathAttr(allowed, fd)
            syscall("landlock_add_rule", ruleset, _RULE_PATH_BENEATH, ctypes.addressof(rule), 0)
        syscall("landlock_restrict_self", ruleset, 0)
    finally:
        os.close(ruleset)
