"""Run untrusted Python (agent-written programs) in a pool of restricted workers.

Usage::

    from societygym.sandbox import Policy, get_sandbox

    result = get_sandbox().run(program, entry="solve", args=(3,), policy=Policy.stdlib())
    if not result.ok:
        print(result.error_type, result.error)  # "timeout", "forbidden", "exception"...

Architecture. ``Sandbox`` (the parent side, `pool.py`) launches one server process
(`zygote.py`) as a fresh interpreter via ``subprocess`` - never by forking the
parent, which may hold torch threads - and that small single-threaded server
pre-forks the workers (`worker.py`) and replaces any that die or misbehave. This
works from pytest, from threaded parents and from daemonic Gymnasium
``AsyncVectorEnv`` workers (where ``multiprocessing`` may not start children); a
process forked from the owner starts its own server on first use. Workers are
reused: each run gets a fresh module namespace, which is what makes a run about a
millisecond instead of an interpreter start. Nothing starts until the first run.

Layers, outermost first:

1. Server-side wall-clock deadline: a worker that overruns is SIGKILLed and replaced.
2. Limits in the worker: wall and CPU timers that raise inside the program, RLIMIT_CPU
   as the kernel's backstop, RLIMIT_AS (a run may grow the address space by
   ``memory_mb`` over the worker's baseline, so preloaded numpy/PIL do not eat the
   budget), RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC=0 (ignored for root), no core
   dumps; stdout and stderr share a ``max_output_bytes`` budget.
3. Static check (`checks.py`): programs naming dunder attributes other than a few safe
   ones (``__init__``, ``__name__``...), frame/code attributes (``f_globals``,
   ``gi_frame``, ``tb_frame``...) or ``__import__``/``__builtins__`` are rejected
   before running, with every offending name listed.
4. Restricted namespace (`namespace.py`): curated builtins; ``getattr`` and friends
   apply the same rule to names built at run time; ``eval``/``exec`` take only source
   strings that pass the same check; ``compile``/``globals``/``vars`` are refused;
   ``open`` exists only when the policy allows scratch files, and only inside the
   worker's scratch directory; ``__import__`` returns allow-listed modules only, as
   read-only views without private members (``random._os`` is out of reach).
5. Audit hook (`audit.py`, PEP 578) as the backstop should something slip through:
   refuses process creation, signals, sockets, ctypes calls, reads outside the Python
   installation and tz data, writes outside the scratch directory, frame
   introspection, and run-time code that names escape attributes. A run the hook had
   to refuse fails as "forbidden" even if the program caught the exception, and its
   worker is replaced.

State between runs: modules a run imports stay cached in the worker (as read-only
views), and each run starts with ``random`` reseeded and the ``decimal`` context,
``calendar`` first weekday and ``warnings`` filters reset. Changing a class of an
allowed module (``fractions.Fraction.x = ...``) is not audited by CPython, so the
worker compares those classes after the run and replaces itself if one changed.
Not covered: mutable objects held by allowed modules (a public list such as
``keyword.kwlist``, ABC registrations) can be changed for later runs in that worker.

Values crossing the process boundary are plain data only - see `plain.py`.

This is defence in depth inside one operating-system user, not a security boundary
like a VM or a container: a CPython bug, or an allowed module with raw memory access
(numpy's ``as_strided``, if a policy allows numpy), can defeat the in-process
layers; only the server's kill and the plain-data decoding live outside the
worker. Run the parent in a container or as an unprivileged user when programs may
be actively malicious.
"""

from societygym.sandbox.errors import SandboxViolation
from societygym.sandbox.policy import STDLIB_MODULES, Policy
from societygym.sandbox.pool import Sandbox, SandboxClosed, get_sandbox
from societygym.sandbox.result import ErrorType, RunResult

__all__ = [
    "STDLIB_MODULES",
    "ErrorType",
    "Policy",
    "RunResult",
    "Sandbox",
    "SandboxClosed",
    "SandboxViolation",
    "get_sandbox",
]
