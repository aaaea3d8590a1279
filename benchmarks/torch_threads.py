"""The ``--threads`` option of the training and evaluation benchmarks.

One torch thread is the default: on shared cores torch's worker threads spin while they
wait for each other, which cost 10x on a busy 2-core machine (effect_lacie --quick: 225 s
with torch's default, 18 s with one thread). Give more only on idle cores.
"""

from __future__ import annotations

import argparse


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: cores are shared)"
    )


def use_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
