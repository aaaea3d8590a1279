"""The episode progress bar, which also shows the envs' log lines while it is open."""

from __future__ import annotations

import logging
import sys


class _TqdmHandler(logging.Handler):
    """Log lines printed above the progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


class Progress:
    """An episode progress bar that also shows the envs' INFO log lines (e.g. a teaching
    env's per-iteration progress) while it is open, unless the user has configured the
    ``societygym`` logger already."""

    def __init__(self, total: int | None, label: str, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=label, unit="ep", disable=not enabled)
        self._logger = logging.getLogger("societygym")
        self._handler: logging.Handler | None = None
        if enabled and not self._logger.handlers and self._logger.level == logging.NOTSET:
            self._handler = _TqdmHandler()
            self._logger.addHandler(self._handler)
            self._logger.setLevel(logging.INFO)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._logger.setLevel(logging.NOTSET)
            self._handler = None
