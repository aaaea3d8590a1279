"""Tool-use plans (M&Ms' JSON format): parse, check, execute, and score against gold.

A plan is a JSON list of steps ``{"tool": name, "args": {...}}`` (M&Ms' ``name`` and ``id``
keys are accepted too). An argument equal to ``"<node-K>.<output>"`` is the named output of
step K (0-based, an earlier step), as in M&Ms. The plan's result is its last step's output.

Metrics, per plan against the gold plan: exact match (same steps, same arguments after
normalisation), tool-name F1 and argument F1 (over multisets of tool names and of
``(tool, argument, value)`` triples, so a tool used twice counts twice), and execution
pass (the plan runs and its result equals the gold result).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from societygym.envs.dataenv.actions import decode_json_action
from societygym.envs.dataenv.domains.tooluse.tools import TOOLS, Tool, ToolError

MAX_STEPS = 10
REFERENCE = re.compile(r"^<node-(\d+)>\.(\w+)$")


@dataclass(frozen=True)
class Step:
    tool: str
    args: tuple[tuple[str, Any], ...]  # sorted by name; values are JSON scalars

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": dict(self.args)}


class PlanError(ValueError):
    """A plan that cannot be read or run (the message says why)."""


def _json_value(text: str) -> Any:
    """The JSON in a reply (the whole text, or the list or object inside it)."""
    try:
        return decode_json_action(text)
    except ValueError:
        raise PlanError("no JSON list of steps found") from None


def parse_plan(plan: str | Sequence[Any]) -> list[Step]:
    """Steps from JSON text (or an already decoded list); PlanError says what is wrong."""
    raw = _json_value(plan) if isinstance(plan, str) else plan
    if not isinstance(raw, list) or not raw:
        raise PlanError("a plan is a non-empty JSON list of steps")
    if len(raw) > MAX_STEPS:
        raise PlanError(f"a plan has at most {MAX_STEPS} steps")
    steps = []
    for index, step in enumerate(raw):
        if not isinstance(step, Mapping):
            raise PlanError(f"step {index} is not a JSON object")
        name = step.get("tool", step.get("name"))
        args = step.get("args") or {}
        if not isinstance(name, str) or not isinstance(args, Mapping):
            raise PlanError(f"step {index} needs a 'tool' name and an 'args' object")
        if any(isinstance(v, (list, dict)) for v in args.values()):
            raise PlanError(f"step {index}: argument values are strings or numbers")
        steps.append(Step(name.strip().replace(" ", "_"), tuple(sorted(args.items()))))
    return steps


def dump_plan(steps: Sequence[Step]) -> str:
    return json.dumps([s.to_dict() for s in steps], ensure_ascii=False)


def check_plan(steps: Sequence[Step], tools: Mapping[str, Tool] = TOOLS) -> str | None:
    """Why a plan cannot run with ``tools`` (unknown tool, wrong arguments, bad reference)."""
    for index, step in enumerate(steps):
        tool = tools.get(step.tool)
        if tool is None:
            return f"step {index}: unknown tool {step.tool!r}"
        wanted = {a for a, _ in tool.args}
        given = {a for a, _ in step.args}
        if wanted != given:
            return f"step {index}: {tool.name} takes {sorted(wanted)}, got {sorted(given)}"
        for _, value in step.args:
            match = REFERENCE.match(value) if isinstance(value, str) else None
            if match is None:
                continue
            source = int(match.group(1))
            if source >= index:
                return f"step {index}: {value} does not name an earlier step"
            if tools[steps[source].tool].output != match.group(2):
                output = tools[steps[source].tool].output
                return f"step {index}: step {source} outputs {output!r}, not {match.group(2)!r}"
    return None


def execute(steps: Sequence[Step], tools: Mapping[str, Tool] = TOOLS) -> Any:
    """The plan's result (its last output's value); PlanError names the failing step."""
    reason = check_plan(steps, tools)
    if reason:
        raise PlanError(reason)
    outputs: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        args = {}
        for name, value in step.args:
            match = REFERENCE.match(value) if isinstance(value, str) else None
            args[name] = outputs[int(match.group(1))][match.group(2)] if match else value
        try:
            outputs.append(tools[step.tool].call(args))
        except ToolError as error:
            raise PlanError(f"step {index} ({step.tool}): {error}") from None
    return next(iter(outputs[-1].values()))


def normalize(value: Any) -> Any:
    """Values as compared: numbers as rounded floats, text case- and space-insensitive."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 6)
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    return value


def same_result(got: Any, gold: Any) -> bool:
    return normalize(got) == normalize(gold)


def _f1(predicted: Counter, gold: Counter) -> float:
    hits = sum((predicted & gold).values())
    if not hits:
        return 0.0
    precision, recall = hits / sum(predicted.values()), hits / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def _normal_steps(steps: Sequence[Step]) -> list[tuple[str, tuple]]:
    return [(s.tool, tuple((k, normalize(v)) for k, v in s.args)) for s in steps]


@dataclass
class PlanScore:
    parsed: bool = False
    exact: bool = False
    tool_f1: float = 0.0
    arg_f1: float = 0.0
    executed: bool | None = False  # None: the tools cannot be run (M&Ms' model tools)
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def score_plan(
    reply: str | Sequence[Any],
    gold: Sequence[Step],
    gold_result: Any = None,
    tools: Mapping[str, Tool] | None = TOOLS,
) -> PlanScore:
    """All metrics of one predicted plan; ``tools=None`` skips execution."""
    try:
        steps = parse_plan(reply)
    except PlanError as error:
        return PlanScore(error=str(error), executed=None if tools is None else False)
    normal, gold_normal = _normal_steps(steps), _normal_steps(gold)
    score = PlanScore(
        parsed=True,
        exact=normal == gold_normal,
        tool_f1=_f1(Counter(s.tool for s in steps), Counter(s.tool for s in gold)),
        arg_f1=_f1(
            Counter((t, a) for t, args in normal for a in args),
            Counter((t, a) for t, args in gold_normal for a in args),
        ),
    )
    if tools is None:
        score.executed = None
        return score
    try:
        score.executed = same_result(execute(steps, tools), gold_result)
    except PlanError as error:
        score.error = str(error)
    return score


def mean_scores(scores: Sequence[PlanScore]) -> dict[str, float | None]:
    """Corpus means: exact match, tool F1, argument F1, execution pass rate, parse rate."""
    n = len(scores) or 1
    ran = [s.executed for s in scores if s.executed is not None]
    return {
        "plan_exact_match": sum(s.exact for s in scores) / n,
        "tool_f1": sum(s.tool_f1 for s in scores) / n,
        "argument_f1": sum(s.arg_f1 for s in scores) / n,
        "execution_pass_rate": sum(ran) / len(ran) if ran else None,
        "parse_rate": sum(s.parsed for s in scores) / n,
    }
