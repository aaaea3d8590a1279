"""What the baselines' command lines share: an empty result is a message, not a traceback.

A pipeline stage that produces nothing usable (no pairs, no trees, an empty bank) raises
``EmptyResult`` with why and what to change; ``run`` prints it and exits 1, so the next
stage is never fed an empty file. Bad input (a missing file, a bad option) exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


class EmptyResult(Exception):
    """A stage produced nothing the next one can use; the message says why and what to do."""


def run(prog: str, command: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> int:
    """Run a stage: 0 when it produced something, 1 for ``EmptyResult``, 2 for bad input."""
    try:
        command(args)
    except EmptyResult as empty:
        print(f"{prog}: {empty}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    return 0


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
