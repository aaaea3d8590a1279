"""Progress bars for long commands, made in one place.

``bar`` makes a tqdm bar on stderr (so piped stdout stays clean) that every long command uses.
It is off with ``quiet=True`` or ``SOCIETYGYM_QUIET=1``; when stderr is not a terminal (a log
file, CI) it redraws at most every ``LOG_INTERVAL_S`` seconds instead of ten times a second.

``count_generations`` lets a bar move *inside* one batched ``llm.generate`` call: the
continuous-batching decoder reports each finished row, and the OpenAI-compatible backend each
finished request, to the innermost callback installed here. A context variable rather than a
``generate`` argument keeps the ``LLM`` protocol (and every backend) unchanged; decoders in
other threads (the HTTP server's engine) see no callback.

``stage`` opens a bar nested under the command's own for long work inside one env step (a
taught student's training batches, its answers to the evaluation items), with its own ETA. It
shows only inside ``show_stages`` (a command with its bar on opens it), so an env used as a
library, or under ``--quiet``, prints nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

QUIET_ENV = "SOCIETYGYM_QUIET"
LOG_INTERVAL_S = 10.0

_on_generated: ContextVar[Callable[[int], None] | None] = ContextVar(
    "societygym_on_generated", default=None
)
_stages_shown: ContextVar[bool] = ContextVar("societygym_stages_shown", default=False)


def enabled(quiet: bool = False) -> bool:
    """Whether bars show: not ``quiet`` and ``$SOCIETYGYM_QUIET`` unset (or ``0``)."""
    return not quiet and os.environ.get(QUIET_ENV, "") in ("", "0")


def bar(
    total: float | None,
    desc: str,
    unit: str = "it",
    *,
    initial: int = 0,
    quiet: bool = False,
    leave: bool = True,
) -> Any:
    """A tqdm bar on stderr with a rate and an ETA (when ``total`` is known); ``initial``
    counts work done before (a resumed run) without counting it in the rate; ``leave=False``
    erases it when closed."""
    from tqdm.auto import tqdm

    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled(quiet),
        leave=leave,
        mininterval=0.1 if interactive else LOG_INTERVAL_S,
        dynamic_ncols=interactive,
    )


@contextlib.contextmanager
def show_stages(shown: bool = True) -> Iterator[None]:
    """Within the block, ``stage`` bars show (unless ``$SOCIETYGYM_QUIET`` is set)."""
    token = _stages_shown.set(shown)
    try:
        yield
    finally:
        _stages_shown.reset(token)


@contextlib.contextmanager
def stage(total: int, desc: str, unit: str = "it") -> Iterator[Any]:
    """A bar for work inside one env step, erased when the block ends; hidden outside
    ``show_stages``. Generations that finish in the block move it and still reach the outer
    ``count_generations`` callback (the command's bar counts them too)."""
    inner = bar(total, desc, unit, quiet=not _stages_shown.get(), leave=False)
    outer = _on_generated.get()

    def on_generated(rows: int) -> None:
        inner.update(rows)
        if outer is not None:
            outer(rows)

    try:
        with count_generations(on_generated):
            yield inner
    finally:
        inner.close()


@contextlib.contextmanager
def count_generations(callback: Callable[[int], None]) -> Iterator[None]:
    """Within the block, ``callback(k)`` runs whenever ``k`` generated rows finish."""
    token = _on_generated.set(callback)
    try:
        yield
    finally:
        _on_generated.reset(token)


def generated(rows: int) -> None:
    """Report ``rows`` finished generations to the active ``count_generations`` callback."""
    callback = _on_generated.get()
    if callback is not None and rows:
        callback(rows)


def advance_to(progress_bar: Any, position: float) -> None:
    """Move ``progress_bar`` up to ``position`` if it is behind: after a batch whose rows a
    backend did not report (an HTTP backend, or greedy decoding of one row for ``n`` samples)."""
    if position > progress_bar.n:
        progress_bar.update(position - progress_bar.n)


def write(line: str) -> None:
    """Print ``line`` to stdout above any open bar (a bare ``print`` would break the bar)."""
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stdout)
