"""Importing torch safely for environments that may be forked (``AsyncVectorEnv``, pools)."""

from __future__ import annotations

import contextlib
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


def attention_kernels() -> contextlib.AbstractContextManager[None]:
    """Scaled-dot-product attention on every backend but cuDNN's, for our own forward passes.

    torch 2.11 sends bf16 attention with a padding mask to cuDNN first on Hopper, and cuDNN
    builds an execution plan for every new shape: decoding changes the key length at every
    step and training batches change their padded width, so each forward pays for a plan.
    On an H200 (``benchmarks/gpu_check.py``) leaving cuDNN out made bf16 decoding 3.1x
    faster, scoring 2.8x and LoRA training 1.3x. Flash, memory-efficient and math attention
    need no plan; on a CPU the choice is unchanged.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(
        [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    )
