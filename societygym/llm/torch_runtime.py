"""Importing torch safely for environments that may be forked (``AsyncVectorEnv``, pools)."""

from __future__ import annotations

import os
from typing import Any

_registered = False


def fork_safe_torch() -> Any:
    """Import torch, and make a forked child run its CPU kernels on one thread.

    Once the parent has used torch's OpenMP thread pool, a forked child that runs a parallel
    kernel waits forever for the parent's threads, which it does not have (a copy of the env
    made by ``AsyncVectorEnv``'s default fork context hangs in its first forward pass). One
    thread in the child is what torch's own DataLoader workers use; vector envs get their
    parallelism from the processes.
    """
    global _registered
    import torch

    if not _registered:
        os.register_at_fork(after_in_child=lambda: torch.set_num_threads(1))
        _registered = True
    return torch
