"""The Ray backend, on a local two-worker cluster, gives the bundle of the serial backend.
``make install`` installs Ray, so CI runs this (about 12 s); it is skipped only where Ray is
absent (installed without the ``ray`` extra)."""

from __future__ import annotations

from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from societygym.leaderboard.commands import submit  # noqa: E402
from tests.test_leaderboard_support import AGENT, tiny_suite, write_suite  # noqa: E402


def test_ray_and_serial_give_the_identical_bundle(tmp_path: Path) -> None:
    suite = str(write_suite(tmp_path, tiny_suite(questions=4)))
    serial = submit(
        suite,
        AGENT,
        {},
        "tests/coin",
        run_dir=tmp_path / "serial",
        backend="serial",
        progress=False,
        store=False,
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        fanned = submit(
            suite,
            AGENT,
            {},
            "tests/coin",
            run_dir=tmp_path / "ray",
            backend="ray",
            workers=2,
            progress=False,
            store=False,
        )
    finally:
        ray.shutdown()
    assert fanned["hash"] == serial["hash"]
    assert fanned["episodes"] == serial["episodes"]
