"""``python -m societygym.sandbox [--require]``: which kernel layers the sandbox has here.

Starts a sandbox server briefly and prints its report, one layer a line; with
``--require`` it exits 1 when any layer is off (CI runs it before the tests).
"""

from __future__ import annotations

import sys

from societygym.sandbox.isolation import missing
from societygym.sandbox.pool import Sandbox


def main(argv: list[str]) -> int:
    with Sandbox(workers=1) as sandbox:
        report = sandbox.isolation()
    for layer, why in report.items():
        print(f"{layer:14} {'on' if not why else 'OFF: ' + why}")
    return 1 if "--require" in argv and missing(report) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
