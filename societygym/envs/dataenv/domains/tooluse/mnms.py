"""M&Ms (Ma et al. 2024) as a teaching domain, in the schema of ``zixianma/mnms``.

Rows: ``id`` (int), ``user_request``, ``plan_str`` (a Python literal list of ``{id, name,
args}``), ``code_str`` and ``alt_plans_str`` (optional, more gold plans). Tool names are
normalised as DataEnvGym does (spaces to underscores). M&Ms' 33 tools are models (image
captioning, object detection ...), so plans are scored without execution: a reply is
correct when it calls the gold tools in the gold order (DataEnvGym's plan-tool accuracy,
best over the alternative plans); ``plan_metrics`` adds exact match, tool F1 and argument
F1 (the env reports them in ``info``; no execution pass rate). Splits follow DataEnvGym:
test = ``test_human_verified_filtered``, validation = the rest of ``test_human_verified``.
Skills are the gold tool sequences (as in DataEnvGym's tool-use skill list). No procedural
generator: teach it with an LLM teacher.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from societygym.envs.dataenv.domains.tooluse import plans
from societygym.envs.dataenv.domains.tooluse.domain import PlanDomain
from societygym.envs.dataenv.records import Example, TaskItem

HUB_ID = "zixianma/mnms"
REVISION = "da313260161c982eb2004bb15761d7aa2e03eb4f"  # the one DataEnvGym pins
FILTERED, VERIFIED = "test_human_verified_filtered", "test_human_verified"
PROMPT = (
    "Tools: {tools}\nRequest: {request}\n"
    'Reply with only a JSON list of steps [{{"id": 0, "name": ..., "args": {{...}}}}]; an '
    'argument "<node-K>.<output>" is an output of step K.'
)


def _literal(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return ast.literal_eval(text)  # the hub stores Python literals; literal_eval runs no code


def to_steps(raw_plan: Sequence[dict[str, Any]]) -> list[plans.Step]:
    steps = []
    for step in raw_plan:
        args = {
            k: v if isinstance(v, (str, int, float, bool)) else json.dumps(v)
            for k, v in (step.get("args") or {}).items()
        }
        steps.append(plans.Step(step["name"].replace(" ", "_"), tuple(sorted(args.items()))))
    return steps


def load_rows(source: str | os.PathLike, split: str) -> list[dict]:
    """Rows of an M&Ms split from a local folder (``<split>.json`` / ``.jsonl``) or the hub."""
    from datasets import load_dataset

    path = Path(source)
    if path.exists():
        files = sorted(map(str, path.glob(f"{split}.json*")))
        if not files:
            raise FileNotFoundError(f"no {split}.json or {split}.jsonl in {path}")
        return list(load_dataset("json", data_files=files, split="train"))
    return list(load_dataset(str(source), split=split, revision=REVISION))


class MnmsDomain(PlanDomain):
    """M&Ms requests; plans scored on tools (not executed)."""

    name = "mnms"
    max_new_tokens = 160

    def __init__(self, source: str | os.PathLike = HUB_ID) -> None:
        self.source = source

    @cached_property
    def _data(self) -> dict[str, Any]:
        test_rows = load_rows(self.source, FILTERED)
        test_ids = {r["id"] for r in test_rows}
        val_rows = [r for r in load_rows(self.source, VERIFIED) if r["id"] not in test_ids]
        golds: dict[str, list[list[plans.Step]]] = {}
        splits: dict[str, list[TaskItem]] = {}
        for split, rows in (("validation", val_rows), ("test", test_rows)):
            items = []
            for r in sorted(rows, key=lambda r: r["id"]):
                steps = to_steps(_literal(r["plan_str"]))
                alternatives = [to_steps(p) for p in _literal(r.get("alt_plans_str")) or []]
                item = TaskItem(
                    f"mnms/{r['id']}",
                    r["user_request"],
                    plans.dump_plan(steps),
                    "+".join(s.tool for s in steps),
                )
                golds[item.id] = [steps, *alternatives]
                items.append(item)
            splits[split] = items
        tools = sorted({s.tool for g in golds.values() for p in g for s in p})
        return {"splits": splits, "golds": golds, "tools": tools}

    @property
    def skills(self) -> tuple[str, ...]:
        return tuple(sorted({i.skill for s in self._data["splits"].values() for i in s}))

    @property
    def tools(self) -> list[str]:
        return self._data["tools"]

    def load_split(self, split: str) -> list[TaskItem]:
        return list(self._data["splits"][split])

    def student_input(self, item: TaskItem) -> str:
        return PROMPT.format(tools=", ".join(self.tools), request=item.question)

    def training_pair(self, example: Example) -> tuple[str, str]:
        return (
            PROMPT.format(tools=", ".join(self.tools), request=example.instruction),
            example.response,
        )

    def _golds(self, item: TaskItem) -> list[list[plans.Step]]:
        return self._data["golds"].get(item.id) or [plans.parse_plan(item.answer)]

    def _best(self, reply: str, item: TaskItem) -> plans.PlanScore:
        scores = [plans.score_plan(reply, g, tools=None) for g in self._golds(item)]
        return max(scores, key=lambda s: (s.tool_f1, s.arg_f1))

    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        try:
            tools = [s.tool for s in plans.parse_plan(prediction)]
        except plans.PlanError:
            return False
        return any(tools == [s.tool for s in g] for g in self._golds(item))

    def plan_metrics(self, replies: Sequence[str], items: Sequence[TaskItem]) -> dict:
        scores = [self._best(r, i) for r, i in zip(replies, items, strict=True)]
        return plans.mean_scores(scores)

    def check_example(self, example: Example) -> str | None:
        reason = super().check_example(example)
        if reason is not None:
            return reason
        try:
            steps = plans.parse_plan(example.response)
        except plans.PlanError as error:
            return f"the plan cannot be read: {error}"
        unknown = sorted({s.tool for s in steps} - set(self.tools))
        return f"unknown M&Ms tools {unknown}" if unknown else None
