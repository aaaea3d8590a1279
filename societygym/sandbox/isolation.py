"""Which kernel layers a sandbox server has, in one report, and how to say it.

The layers (set up by `confinement.py`): ``namespaces`` (user, mount, PID,
network, IPC and UTS namespaces with the minimal read-only file system and uid
nobody, see `jail.py`), ``no_new_privs``, ``capabilities`` (all dropped, bounding
set included), ``seccomp`` and ``landlock``. A report maps each to "" (on) or the
reason it is off; the parent runs anyway with ``Policy(isolation="auto")``, saying
so in one line, or refuses with ``"required"``.

``python -m societygym.sandbox`` prints this machine's report; ``--require`` makes it
exit 1 when any layer is off (CI uses it).
"""

from __future__ import annotations

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
