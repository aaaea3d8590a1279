"""Shared by the Date and TextCraft tests: the sandbox skip mark and fresh-hash-seed probes."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _sandbox_ready() -> bool:
    try:
        from societygym.sandbox import get_sandbox  # noqa: F401
    except ImportError:
        return False
    return True


needs_sandbox = pytest.mark.skipif(not _sandbox_ready(), reason="societygym.sandbox is missing")


def outputs_under_hash_seeds(probe: str, seeds: tuple[str, ...] = ("0", "4242")) -> set[str]:
    """The distinct stdouts of ``python -c probe`` run under each PYTHONHASHSEED."""
    return {
        subprocess.run(
            [sys.executable, "-c", probe],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in seeds
    }
