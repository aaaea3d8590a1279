"""The static board: built from a real database, served on loopback, rendered by a real
headless Chromium (its tables, the script's sorting, the agent pages' plots, a screenshot)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from societygym.leaderboard import bundle as bundles
from societygym.leaderboard.commands import submit
from societygym.leaderboard.serve import serve_in_thread
from societygym.leaderboard.site import agent_page, build_site
from societygym.leaderboard.store import Store, open_board
from tests.test_leaderboard_support import AGENT, tiny_suite, write_suite

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    suite = write_suite(folder, tiny_suite(questions=6))
    store = Store(str(folder / "board.db"))
    for name, delay in (("alpha/coin", 0.0), ("beta/coin", 0.001)):
        store.add(
            submit(
                str(suite),
                AGENT,
                {"delay": delay},
                name,
                run_dir=folder / name,
                backend="serial",
                progress=False,
                store=False,
            )
        )
    worse = copy.deepcopy(store.get(store.rows()[0]["hash"]))
    for episode in worse["episodes"]:
        episode["value"] = -1.0
    worse["summary"] = bundles.build(
        "gamma/worst", tiny_suite(6), {"agent": worse["agent"], "group_size": 1}, worse["episodes"]
    )["summary"]
    worse["name"] = "gamma/worst"
    # made under other code than the board's: any difference in versions marks it stale
    worse["versions"]["envs"]["Trivia-Calibration-v0"] += 1
    worse["hash"] = bundles.bundle_hash(worse)
    store.add(worse)
    alpha = next(r for r in store.rows() if r["name"] == "alpha/coin")
    store.add_verification(
        {
            "bundle_hash": alpha["hash"],
            "passed": True,
            "rule": "exact",
            "episodes": alpha["episodes"],
            "mismatches": 0,
            "first_mismatch": None,
            "score": alpha["score"],
            "verifier": "tests",
            "societygym_version": "0",
            "git_sha": None,
            "backend": "serial",
            "versions": worse["versions"],
            "verified_at": "2026-01-01T00:00:00+00:00",
        }
    )
    build_site(store, folder / "out")
    return folder / "out"


def _chromium(*args: str, tmp: Path) -> str:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run does")
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _names(dom: str) -> list[str]:
    table = dom[dom.index('<table class="board"') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<a href="agents/[^"]+\.html">([^<]+)</a>', table)


def test_the_site_has_every_table_and_agent_page(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count('<table class="board"') == 1
    assert _names(index) == ["alpha/coin", "beta/coin", "gamma/worst"]  # best first, then name
    page = (site / "agents" / agent_page("alpha/coin")).read_text(encoding="utf-8")
    assert "trivia: reliability" in page and "<svg" in page
    assert '<span class="mark verified"' in page


def _marks(dom: str) -> dict[str, tuple[str, str]]:
    """Each row's name and its verification and stale marks, as the browser shows them."""
    rows = re.findall(
        r'<tr data-verification="(\w+)" data-stale="(\w+)">.*?<a href="agents/[^"]+">([^<]+)</a>',
        dom,
    )
    return {name: (verification, stale) for verification, stale, name in rows}


def test_served_and_rendered_in_headless_chromium(site: Path, tmp_path: Path) -> None:
    server, base = serve_in_thread(site)
    try:
        with urllib.request.urlopen(base + "index.html", timeout=10) as response:
            assert response.status == 200
        dom = _chromium("--dump-dom", base + "index.html?sort=score&order=asc", tmp=tmp_path)
        assert 'data-ready="3"' in dom, "the page script did not run"
        assert 'data-sorted="score:asc"' in dom
        assert _names(dom)[0] == "gamma/worst"  # sorted in the browser: worst first
        dom = _chromium("--dump-dom", base + "index.html?sort=name&order=desc", tmp=tmp_path)
        assert _names(dom) == ["gamma/worst", "beta/coin", "alpha/coin"]
        assert _marks(dom) == {
            "alpha/coin": ("verified", "false"),
            "beta/coin": ("unverified", "false"),
            "gamma/worst": ("unverified", "true"),
        }
        assert '<span class="mark stale" title="changed since: env Trivia-Calibration-v0' in dom
        agent = _chromium("--dump-dom", base + "agents/" + agent_page("alpha/coin"), tmp=tmp_path)
        assert "<svg" in agent and "trivia: reliability" in agent
        assert '<span class="mark verified"' in agent
        shot = tmp_path / "board.png"
        _chromium(
            f"--screenshot={shot}", "--window-size=1200,800", base + "index.html", tmp=tmp_path
        )
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    finally:
        server.shutdown()
        server.server_close()


def test_shipped_baselines_are_on_a_fresh_board(tmp_path: Path, capsys) -> None:
    from societygym.cli import main
    from societygym.leaderboard.store import SHIPPED

    shipped = sorted(SHIPPED.glob("*.json"))
    if not shipped:
        pytest.skip("no shipped bundles yet")
    store = open_board(str(tmp_path / "fresh.db"))
    assert store.count()[0] == len(shipped)
    assert main(["leaderboard", "show", "--db", str(tmp_path / "fresh.db")]) == 0
    assert "baselines/" in capsys.readouterr().out


class _OneBundle:
    """A board of one bundle, as ``build_site`` reads it (``rows``, ``get``)."""

    def __init__(self, bundle: dict, row: dict) -> None:
        self.bundle, self.row = bundle, row

    def rows(self) -> list[dict]:
        return [dict(self.row)]

    def get(self, _hash: str) -> dict:
        return self.bundle


def test_names_and_args_are_escaped_on_every_page(site: Path, tmp_path: Path) -> None:
    """Names and agent args are data: a ``<script>`` in them reaches the pages as text. (The
    store refuses such a name; the templates escape it all the same.)"""
    evil = "<script>alert(1)</script>"
    source = Store(str(site.parent / "board.db"))
    row = source.rows()[0]
    bundle = copy.deepcopy(source.get(row["hash"]))
    bundle["name"], bundle["agent"]["args"] = evil, {"note": evil}
    build_site(_OneBundle(bundle, {**row, "name": evil}), tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    agent = (tmp_path / "out" / "agents" / agent_page(evil)).read_text(encoding="utf-8")
    for page in (index, agent):
        assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</a>" in index
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in agent
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;}" in agent  # the args' JSON


def test_plots_for_every_kind_of_task() -> None:
    from societygym.leaderboard.plots import task_plot

    episodes = [
        {
            "value": 1.0,
            "info": {"half": "resist", "p_accept": 0.9, "correct": True},
            "curve": [0.1, 0.3, 0.5],
        },
        {
            "value": 0.0,
            "info": {"half": "accept", "p_accept": 0.2, "correct": False},
            "curve": [0.1, 0.2, 0.4],
        },
    ]
    reliability = task_plot("reliability", "t", episodes)
    assert reliability is not None and reliability.startswith("<svg")
    assert "t: reliability" in reliability and "ECE = 0.150, n = 2" in reliability
    split = task_plot("split:half", "t", episodes)
    assert split is not None and ">accept<" in split and ">resist<" in split
    assert ">0.000<" in split and ">1.000<" in split  # each bar's value is written on it
    curve = task_plot("curve:validation.accuracy", "t", episodes)
    assert curve is not None and "t: learning curve" in curve and "teaching iteration" in curve
    assert ">validation accuracy<" in curve  # the y axis names what is plotted
    assert task_plot(None, "t", episodes) is None
    with pytest.raises(ValueError, match="unknown plot"):
        task_plot("pie", "t", episodes)


def test_cli_serve_answers_on_loopback(site: Path) -> None:
    import os
    import sys

    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "societygym.cli",
            "leaderboard",
            "serve",
            "--out",
            str(site),
            "--no-build",
            "--port",
            "0",
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        with urllib.request.urlopen(url.group(0) + "index.html", timeout=10) as response:
            assert b'<table class="board"' in response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)
