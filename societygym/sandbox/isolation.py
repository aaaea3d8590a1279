"""Which kernel layers a sandbox server has, in one report, and how to say it.

The layers (set up by `confinement.py`): ``namespaces`` (user, mount, PID,
network, IPC and UTS namespaces with the minimal read-only file system and uid
nobody, see `jail.py`), ``no_new_privs``, ``capabilities`` (all dropped, bounding
set included), ``seccomp`` and ``landlock``. A report maps each to "" (on) or the
reason it is off; the parent runs anyway with ``Policy(isolation="auto")``, saying
so in one line, or refuses with ``"required"``.

Run ``python -m societygym.sandbox.isolation`` to print this machine's report;
``--require`` exits 1 when any layer is off (CI uses it).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

LAYERS = ("namespaces", "no_new_privs", "capabilities", "seccomp", "landlock")


def missing(report: Mapping[str, str]) -> dict[str, str]:
    """The layers that are off, with why."""
    return {layer: why for layer, why in report.items() if why}


def describe_missing(report: Mapping[str, str]) -> str:
    """One line naming each missing layer and why; empty when all are on."""
    off = missing(report)
    if not off:
        return ""
    listed = "; ".join(f"{layer} ({why})" for layer, why in off.items())
    return f"societygym.sandbox: kernel isolation incomplete, running without: {listed}"


def probe() -> dict[str, str]:
    """The report a sandbox server on this machine would give (starts one briefly)."""
    from societygym.sandbox.pool import Sandbox

    with Sandbox(workers=1) as sandbox:
        return sandbox.isolation()


def _main(argv: list[str]) -> int:
    report = probe()
    for layer, why in report.items():
        print(f"{layer:14} {'on' if not why else 'OFF: ' + why}")
    return 1 if "--require" in argv and missing(report) else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
