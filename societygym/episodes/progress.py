"""The episode progress bar, which also shows the envs' log lines while it is open."""

from __future__ import annotations

import logging
import sys
from typing import Any

from societygym import progress


class _TqdmHandler(logging.Handler):
    """Log lines printed above the progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


class Progress:
    """An episode progress bar that also shows the envs' INFO log lines (e.g. a teaching
    env's per-iteration progress) while it is open, unless the user has configured the
    ``societygym`` logger already.

    Episodes of a batch often end together (one batched LLM call answers every copy), so
    between episodes the bar's postfix counts env steps (``step``, an engine ``on_step``
    hook) and finished LLM generations (``replies``, a ``progress.count_generations``
    callback: an agent's replies, a taught student's answers): it moves while a batch is in
    flight."""

    def __init__(self, total: int | None, label: str, enabled: bool) -> None:
        self.bar = progress.bar(total, label, "ep", quiet=not enabled)
        self.steps = 0
        self.generated = 0
        self._logger = logging.getLogger("societygym")
        self._handler: logging.Handler | None = None
        if enabled and not self._logger.handlers and self._logger.level == logging.NOTSET:
            self._handler = _TqdmHandler()
            self._logger.addHandler(self._handler)
            self._logger.setLevel(logging.INFO)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def step(self, _: Any = None) -> None:
        self.steps += 1
        self._show()

    def replies(self, n: int) -> None:
        self.generated += n
        self._show()

    def _show(self) -> None:
        postfix = f"{self.steps} steps" + (
            f", {self.generated} generated" if self.generated else ""
        )
        self.bar.set_postfix_str(postfix, refresh=False)
        self.bar.update(0)  # redraws, at most every mininterval

    def close(self) -> None:
        self.bar.close()
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._logger.setLevel(logging.NOTSET)
            self._handler = None
