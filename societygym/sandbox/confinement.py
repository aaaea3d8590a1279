"""The kernel confinement of the sandbox server and of each worker it forks.

`Confinement` is built once in the server. It moves the server into the jail
(`jail.py`: namespaces, minimal read-only file system, uid nobody), forks the PID
namespace's init, drops every capability, sets no_new_privs and loads the server's
seccomp filter; the workers inherit all of that. Each worker then calls
`confine_worker` before it reads its job: a new session, a Landlock domain of its
own (read-only roots, its own scratch directory, no TCP, no signals out), the
worker seccomp filter, and no descriptor but its channel.

A layer the kernel refuses is recorded in ``report``, not fatal (see isolation.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile

from societygym.sandbox import jail, landlock, linux
from societygym.sandbox.isolation import LAYERS


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _init_loop() -> None:
    """PID 1 of the workers' namespace: reaps orphans, dies with the server."""
    os.closerange(0, os.sysconf("SC_OPEN_MAX"))
    with contextlib.suppress(OSError):
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:
        signal.sigwait({signal.SIGCHLD})
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass


class Confinement:
    """The server's kernel confinement and what each worker adds to it."""

    def __init__(self, package_dir: str, read_paths: tuple[str, ...] = ()) -> None:
        self.report: dict[str, str] = dict.fromkeys(LAYERS, "")
        self.read_only = jail.read_only_paths(package_dir, read_paths)
        # Opened before the jail hides /proc: the server's size, which its forks inherit.
        self._statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        filters = self._compile_filters()
        self.jailed = self._enter_jail()
        self.scratch_root = (
            tempfile.mkdtemp(dir=jail.SCRATCH_ROOT)
            if self.jailed
            else tempfile.mkdtemp(prefix="societygym-sandbox-")
        )
        self._drop_privileges()
        self.worker_filter = self._load_server_filter(filters)
        self.landlock_abi = landlock.abi_version()
        if not self.landlock_abi:
            self.report["landlock"] = "the kernel has no Landlock"
        elif self.report["no_new_privs"]:
            self.report["landlock"] = "needs no_new_privs"
            self.landlock_abi = 0
        self._rule_fds = self._open_rule_paths() if self.landlock_abi else []

    def _compile_filters(self) -> tuple[bytes, bytes] | None:
        try:
            from societygym.sandbox.seccomp import compile_filters

            return compile_filters()  # before the jail: libseccomp is found via ldconfig
        except (ImportError, OSError, RuntimeError) as error:
            self.report["seccomp"] = f"cannot build the filter: {_reason(error)}"
            return None

    def _enter_jail(self) -> bool:
        try:
            jail.enter(self.read_only)
        except OSError as error:
            self.report["namespaces"] = _reason(error)
            return False
        if os.fork() == 0:  # the first child after unshare(CLONE_NEWPID) is its PID 1
            try:
                _init_loop()
            finally:
                os._exit(0)
        return True

    def _drop_privileges(self) -> None:
        try:
            linux.set_no_new_privs()
        except OSError as error:
            self.report["no_new_privs"] = _reason(error)
        try:
            linux.drop_capabilities(linux.last_capability())
            if not linux.capabilities_empty():
                raise OSError("capabilities remain after dropping them")
        except OSError as error:
            self.report["capabilities"] = _reason(error)

    def _load_server_filter(self, filters: tuple[bytes, bytes] | None) -> bytes | None:
        if filters is None:
            return None
        if self.report["no_new_privs"]:
            self.report["seccomp"] = "needs no_new_privs"
            return None
        server, worker = filters
        try:
            linux.load_seccomp_program(server)
        except OSError as error:
            self.report["seccomp"] = _reason(error)
            return None
        return worker

    def _open_rule_paths(self) -> list[tuple[int, int]]:
        rules = []
        for path in [*self.read_only, *jail.DEVICES]:
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                rights = landlock.READ | (landlock.WRITE_FILE if path in jail.DEVICES else 0)
                rules.append((fd, rights))
        return rules

    def address_space_bytes(self) -> int:
        """This (server) process's virtual memory size: a fork's starting size."""
        return int(os.pread(self._statm, 64, 0).split()[0]) * os.sysconf("SC_PAGE_SIZE")

    def confine_worker(self, scratch: str) -> None:
        """In a freshly forked worker, before it reads its job; raises OSError."""
        # Its own process group, so kill(0) reaches nothing else (setpgid, not setsid:
        # a new session also builds a scheduler autogroup, a millisecond per fork).
        os.setpgid(0, 0)
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        linux.prctl(linux.PR_SET_DUMPABLE, 0)  # no /proc/<pid>/mem or core file for siblings
        if self.landlock_abi:
            scratch_fd = os.open(scratch, os.O_PATH | os.O_DIRECTORY)
            rules = [*self._rule_fds, (scratch_fd, landlock.SCRATCH)]
            landlock.restrict_self(self.landlock_abi, rules)
        if self.worker_filter is not None:
            linux.load_seccomp_program(self.worker_filter)
