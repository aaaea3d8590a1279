"""Figures with matplotlib's object API (no pyplot: no global state, safe in threads): one
house style, PNG files for runs and inline SVG for the leaderboard site."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", "-.", ":")
STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e5e5e5",
    "legend.frameon": False,
    "text.parse_math": False,  # agent names and labels may hold "$"
    "svg.fonttype": "none",  # text stays text: searchable, and smaller than glyph paths
    "svg.hashsalt": "societygym",  # stable element ids: the same data gives the same SVG
}


@contextmanager
def style() -> Iterator[None]:
    """The house style for figures made inside the block."""
    with matplotlib.rc_context(STYLE):
        yield


def save_png(figure: Figure, path: str | Path, dpi: int = 150) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with style():
        figure.savefig(
            path, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None}
        )
    return path


def svg_element(figure: Figure) -> str:
    """The figure as one ``<svg>`` element to inline in HTML (no XML prolog or doctype)."""
    buffer = io.StringIO()
    with style():
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
