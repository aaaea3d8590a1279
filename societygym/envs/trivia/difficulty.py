"""Question difficulty for the trivia and persuasion envs: the embedded families ranked by how
often the embedded speaker (SmolLM2-135M-Instruct) answers them right.

``FAMILY_ACCURACY`` is measured by ``benchmarks/bench_trivia_families.py`` (its numbers are
in ``benchmarks/results/trivia_families.json``): the speaker answers up to 16 train questions
per family, greedily (32 tokens), with the env's speaker prompt, judged as
``Trivia-Calibration-v0`` judges. Sixteen questions per family make these coarse (one
question is 6 points), so the levels are three wide bands rather than a ranking: level 1
holds the families it answers right at least a fifth of the time (5 families, 31-38%),
level 2 those it sometimes answers right (6, 6-19%), level 3 those it never did (5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from societygym.envs.levels import check_choices, check_level
from societygym.envs.trivia.data import FAMILIES, TriviaItem, load_questions

# right answers / questions asked, per family (bench_trivia_families.py, greedy, train split)
FAMILY_ACCURACY: dict[str, float] = {
    "capital-of": 6 / 16,
    "country-with-capital": 5 / 16,
    "continent-of": 0 / 16,
    "calling-code-of": 0 / 16,
    "iso2-code-of": 0 / 16,
    "iso3-code-of": 0 / 16,
    "country-with-iso3": 1 / 16,
    "symbol-of": 1 / 16,
    "element-with-symbol": 1 / 16,
    "atomic-number-of": 2 / 16,
    "element-with-number": 0 / 16,
    "state-capital-of": 6 / 16,
    "state-with-capital": 4 / 16,
    "state-abbreviation-of": 3 / 16,
    "state-with-abbreviation": 6 / 16,
    "statehood-year-of": 2 / 16,
}

# (description, lowest accuracy, highest accuracy), easiest first
ACCURACY_LEVELS: tuple[tuple[str, float, float], ...] = (
    ("families the embedded model answers right at least 20% of the time", 0.2, 1.0),
    ("families it answers right sometimes (under 20%)", 1e-9, 0.2 - 1e-9),
    ("families it never answered right", 0.0, 0.0),
)
DIFFICULTY_LEVELS = tuple(text for text, _, _ in ACCURACY_LEVELS)


def families_at(level: int) -> tuple[str, ...]:
    """The embedded families of difficulty ``level`` (1-based), in ``FAMILIES`` order."""
    low, high = ACCURACY_LEVELS[level - 1][1:]
    return tuple(f for f in FAMILIES if low <= FAMILY_ACCURACY[f] <= high)


def choose_questions(
    source: str,
    split: str,
    questions: Sequence[TriviaItem] | None,
    families: Iterable[str] | str | None,
    difficulty: int | None,
    env_name: str,
) -> list[TriviaItem]:
    """The env's questions: ``questions`` or those of ``source``/``split``, kept to
    ``families`` and to difficulty level ``difficulty`` (None for either: no filter)."""
    items = list(questions) if questions is not None else load_questions(source, split)
    level = check_level(difficulty, DIFFICULTY_LEVELS, env_name)
    if families is None and level is None:
        return items
    known = tuple(dict.fromkeys(it.family for it in items))
    if level is not None:
        if not set(known) <= set(FAMILIES):
            raise ValueError(
                f"{env_name}: difficulty ranks the embedded families; these questions are "
                f"of {sorted(set(known) - set(FAMILIES))[:5]} (use source='embedded')"
            )
        known = families_at(level)
    chosen = check_choices("families", families, known, env_name) or known
    return [it for it in items if it.family in chosen]
