"""Run untrusted Python (agent-written programs) in a pool of restricted workers.

Architecture. ``Sandbox`` (the parent side, `pool.py`) launches one server process
(`zygote.py`) with a fresh interpreter via ``subprocess`` - never by forking the
parent, which may hold torch threads - and that server pre-forks the workers
(`worker.py`). Forking from a small clean process is fast and deadlock-free, and
``subprocess`` works from pytest, from daemonic Gymnasium ``AsyncVectorEnv``
workers and from threaded parents alike. Workers are reused across runs; each run
gets a fresh namespace, and a worker that breaks a limit, crashes, or tries a
forbidden operation is replaced. Nothing starts until the first run.

Layers, outermost first:

1. Server-side wall-clock deadline: the server SIGKILLs a worker that overruns.
2. Resource limits in the worker: CPU timer and RLIMIT_CPU, RLIMIT_AS (the run may
   add ``memory_mb`` to the worker's address space; this works with numpy/PIL
   loaded, unlike a tight absolute cap), RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC=0
   (ignored for root), no core dumps; output capped at ``max_output_bytes``.
3. Static check (`checks.py`): programs that name dunder attributes other than a few
   safe ones (``__init__``, ``__name__``, ``__class__``...), frame/code attributes
   (``f_globals``, ``gi_frame``, ``tb_frame``...) or ``__import__``/``__builtins__``
   are rejected before running, with the offending names listed.
4. Restricted namespace (`namespace.py`): curated builtins; ``getattr`` and friends
   apply the same attribute rule to names built at run time; ``eval``/``exec``
   accept only source strings that pass the same check; ``open`` exists only when
   the policy allows scratch files and only inside the per-worker scratch directory;
   ``__import__`` only returns allow-listed modules, as read-only views without
   private members (so ``random._os`` and friends are out of reach).
5. Audit hook (`audit.py`, PEP 578) as the backstop: refuses process creation,
   signals, sockets, ctypes, reads outside the Python installation and tz data,
   writes outside the scratch directory, frame introspection, run-time code naming
   escape attributes, and changes to library classes.

State between runs: modules imported by a run stay cached in the worker, as
read-only views, and the worker reseeds ``random`` and resets the ``decimal``
context and ``calendar`` first weekday before every run. Mutable objects owned by
allowed modules (a public list such as ``keyword.kwlist``, ABC registrations) are
not reset: a program could change them for later runs in the same worker.

Values crossing the process boundary are plain data only - see `plain.py`.

This is defence in depth inside one operating-system user, not a security boundary
like a VM or a container: a CPython bug, or an allowed module offering raw memory
access (numpy's ``as_strided``, if a policy allows numpy), can defeat the in-process
layers. Run the parent in a container or as an unprivileged user when the programs
may be actively malicious.
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
