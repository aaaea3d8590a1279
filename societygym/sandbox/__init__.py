"""Run untrusted Python (agent-written programs) in kernel-isolated, one-shot workers.

Usage::

    from societygym.sandbox import Policy, get_sandbox

    result = get_sandbox().run(program, entry="solve", args=(3,), policy=Policy.stdlib())
    if not result.ok:
        print(result.error_type, result.error)  # "timeout", "forbidden", "exception"...

Architecture. ``Sandbox`` (the parent side, `pool.py`) starts one server process
(`zygote.py`) as a fresh interpreter via ``subprocess``, with ``-I`` and an explicit
minimal environment: nothing of the parent's environment (API keys) reaches it. The
server confines itself (`confinement.py`, `jail.py`) and reports which kernel layers
it has (`isolation.py`; ``python -m societygym.sandbox`` prints them). It then keeps
``workers`` workers (`worker.py`) forked ahead of need; each runs exactly one job in
a fresh namespace and is killed afterwards, so no run can leave state, patched
classes or a replaced result path for a later one, and fork latency stays off the
critical path. Nothing starts until the first run.

The boundary is the kernel's; outermost first:

1. Namespaces (server and workers): new user, mount, PID, network, IPC and UTS
   namespaces. The root is an empty tmpfs with read-only binds of the Python
   installation, site-packages, the societygym package, shared libraries, time-zone
   data and /dev/{null,zero,random,urandom}, plus a private tmpfs for scratch
   directories: no /proc, /sys, home or project tree, no network interface. Inside,
   uid/gid 65534 (the host's nobody when started as root).
2. No capabilities (bounding and ambient sets included) and no_new_privs.
3. seccomp-bpf, built with libseccomp (``pyseccomp``, `seccomp.py`): the server's
   filter kills on execve, ptrace, process_vm_*, mount, bpf, keyctl, perf_event_open,
   io_uring and the like; each worker adds no fork/clone/threads, no sockets, no
   signals to process groups. Foreign-architecture calls are killed too.
4. Landlock (`landlock.py`, where the kernel has it): each worker may read only the
   read-only roots, write only its own scratch directory, make no TCP connection, and
   signal nothing outside itself.
5. Limits: wall and CPU timers raising inside the program, RLIMIT_CPU as backstop,
   RLIMIT_AS (``memory_mb`` over the worker's starting size), RLIMIT_FSIZE,
   RLIMIT_NOFILE, no core dumps, a shared stdout/stderr budget, and the server's
   SIGKILL after the wall-clock deadline.

Where the kernel refuses a layer (some containers), the sandbox runs with the rest
and says once, in one line, which is missing; ``Policy(isolation="required")``
refuses to run instead (`IsolationUnavailable`).

In-process layers, a fast first filter with clear error messages (never the
boundary): a static check of escape attributes (`checks.py`), a restricted namespace
with curated builtins, guarded eval/exec and read-only module views of allow-listed
imports (`namespace.py`), and a PEP 578 audit hook (`audit.py`).
``Policy(python_layers=False)`` switches them off; tests use it to show the kernel
layers hold alone, and it is refused unless every kernel layer is on.

Verdicts are made in the parent on plain data (`plain.py`): a run's value is copied
into exact builtin types in the worker and decoded with an unpickler that resolves
no program globals; the envs compare answers, render drawings and replay crafting
commands in the parent.
"""

from societygym.sandbox.errors import SandboxViolation
from societygym.sandbox.policy import STDLIB_MODULES, Policy
from societygym.sandbox.pool import IsolationUnavailable, Sandbox, SandboxClosed, get_sandbox
from societygym.sandbox.result import ErrorType, RunResult

__all__ = [
    "STDLIB_MODULES",
    "ErrorType",
    "IsolationUnavailable",
    "Policy",
    "RunResult",
    "Sandbox",
    "SandboxClosed",
    "SandboxViolation",
    "get_sandbox",
]
