"""The seccomp-bpf filters, built with libseccomp (through ``pyseccomp``).

Two filters stack. The server loads ``SERVER_DENIED`` on itself once its jail is
set up: nothing in the sandbox ever needs to run a binary, trace a process, mount,
load kernel code or touch keys. Each worker adds ``WORKER_DENIED`` before it reads
its job: no new processes or threads, no sockets, no signals to whole process
groups. Any denied call kills the process (SIGSYS), which the server reports as a
crash; calls from a foreign architecture (32-bit ``int 0x80``, x32) are killed too.
"""

from __future__ import annotations

import os

SERVER_DENIED = tuple(
    """
    execve execveat ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd
    mount umount2 pivot_root chroot move_mount open_tree fsopen fsconfig fsmount fspick
    mount_setattr unshare setns bpf keyctl add_key request_key perf_event_open
    userfaultfd kexec_load kexec_file_load init_module finit_module delete_module
    open_by_handle_at name_to_handle_at io_uring_setup io_uring_enter io_uring_register
    reboot swapon swapoff acct quotactl iopl ioperm syslog settimeofday clock_settime
    clock_adjtime adjtimex sethostname setdomainname vhangup lookup_dcookie uselib
    fanotify_init personality
    """.split()  # noqa: SIM905 - a word list
)
WORKER_DENIED = tuple(
    """
    clone clone3 fork vfork socket socketpair pidfd_open pidfd_send_signal setsid
    setpgid
    """.split()  # noqa: SIM905 - a word list
)
_SIGNAL_CALLS = ("kill", "rt_sigqueueinfo")


def _compile(denied: tuple[str, ...], *, process_groups: bool) -> bytes:
    import pyseccomp

    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in denied:
        try:
            rules.add_rule(pyseccomp.KILL_PROCESS, name)
        except (OSError, ValueError):  # a call this kernel/libseccomp does not know
            continue
    if process_groups:
        # kill(0) and kill(-n) reach a whole process group, which the pid namespace
        # does not bound; pid_t is 32-bit, so only the low half of the register counts.
        for name in _SIGNAL_CALLS:
            rules.add_rule(
                pyseccomp.KILL_PROCESS, name, pyseccomp.Arg(0, pyseccomp.MASKED_EQ, 0xFFFFFFFF, 0)
            )
            rules.add_rule(
                pyseccomp.KILL_PROCESS,
                name,
                pyseccomp.Arg(0, pyseccomp.MASKED_EQ, 1 << 31, 1 << 31),
            )
    fd = os.memfd_create("seccomp-bpf")
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            rules.export_bpf(out)
        size = os.lseek(fd, 0, os.SEEK_END)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def compile_filters() -> tuple[bytes, bytes]:
    """(server program, worker program); raises ImportError/OSError where unavailable."""
    return (
        _compile(SERVER_DENIED, process_groups=False),
        _compile(WORKER_DENIED, process_groups=True),
    )
