"""DataEnv-<Domain>-SkillTree-v0: grow a skill forest and allocate data; the env writes it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from societygym.envs.dataenv.actions import Parsed, decode_json_action, parse_examples
from societygym.envs.dataenv.engines import Generated, make_engine
from societygym.envs.dataenv.open_ended_env import budget_line
from societygym.envs.dataenv.plausible import sample_tree_action
from societygym.envs.dataenv.records import accuracy_by_skill
from societygym.envs.dataenv.teaching_env import TeachingEnv
from societygym.spaces import UnicodeText

MAX_NAME = 80
ACTION_FORMAT = """Reply with a JSON list of actions, at most one per skill:
  explore: {"skill": "<skill>", "explore": {"subskills": ["<new name>", ...], "allocation": <n>}}
  exploit: {"skill": "<skill>", "exploit": {"allocation": {"<subskill>": <n>, ...}}}
Every iteration the env generates <allocation> new training examples for each subskill."""


class SkillTreeEnv(TeachingEnv):
    """Teach by managing a skill forest; the env's data-generation engine writes the data.

    Each domain skill is a root; the teacher adds subskills (explore) and sets how many
    examples each subskill gets per iteration (exploit). Every step the engine generates the
    allocated data, the student is probed on a few of them (its accuracy on generated data),
    then trained on all of them and re-evaluated.

    ## Observation (``Dict``)
    The open-ended fields, ``skill_accuracy`` (``Box``, one per skill in ``env.skills``
    order) and ``tree`` (JSON ``{skill: {accuracy, subskills: {name: {allocation,
    generated, student_accuracy}}}}``; ``student_accuracy`` is on the last generated batch,
    before training on it, None until generated).

    ## Action
    One action mapping, a list of them, or the same as JSON text:
    ``{"skill": s, "explore": {"subskills": [names], "allocation": n or [n, ...]}}`` adds
    subskills; ``{"skill": s, "exploit": {"allocation": {subskill: n}}}`` sets allocations
    (absolute, ``0 <= n <= max_allocation``). Invalid action items are listed with reasons in
    ``info["rejected_actions"]`` and the rest applied; an empty list keeps the allocations.
    Other types raise ``TypeError``. When allocations exceed the example budget they are
    scaled down proportionally (``info["allocation_scaled"]``).

    ## Info
    As ``DataEnv-<Domain>-v0`` plus ``rejected_actions``, ``engine`` (proposed, kept,
    verified, failed, unverifiable, pass_rate of the generated data) and ``allocation_scaled``.

    ## Arguments
    As ``DataEnv-<Domain>-v0`` plus ``engine`` (``"procedural"`` default, ``"llm"``,
    ``"llm:<spec>"`` or an object), ``max_subskills`` per skill, ``max_allocation`` per
    subskill and ``probe_per_subskill`` (generated examples the student is probed on).

    ## Version history
    v0: first release.
    """

    kind = "skill-tree"
    show_skills = True
    agent_prompt = "You are planning training data for a small student model.\n{observation}"
    sample_plausible_action = staticmethod(sample_tree_action)

    def __init__(
        self,
        *args: Any,
        engine: Any = "procedural",
        max_subskills: int = 8,
        max_allocation: int = 100,
        probe_per_subskill: int = 4,
        **kwargs: Any,
    ) -> None:
        self.engine = make_engine(engine)
        self.max_subskills = int(max_subskills)
        self.max_allocation = int(max_allocation)
        self.probe_per_subskill = int(probe_per_subskill)
        super().__init__(*args, **kwargs)

    def _observation_spaces(self, max_text_length: int) -> dict[str, spaces.Space]:
        return {
            **super()._observation_spaces(max_text_length),
            "skill_accuracy": spaces.Box(0.0, 1.0, (len(self.skills),), np.float32),
            "tree": UnicodeText(max_text_length),
        }

    # --- tree state --------------------------------------------------------------------------

    def _extra_reset(self) -> None:
        self._tree: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in self.skills}

    def _extra_state(self) -> dict[str, Any]:
        return {"tree": self._tree}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self._tree = state["tree"]

    def _extra_observation(self) -> dict[str, Any]:
        per_skill = accuracy_by_skill(self._feedback, self.skills)
        tree = {s: {"accuracy": per_skill[s], "subskills": self._tree[s]} for s in self.skills}
        return {
            "skill_accuracy": [per_skill[s] for s in self.skills],
            "tree": json.dumps(tree, ensure_ascii=False),
        }

    def _render_text(self, obs: dict[str, Any]) -> str:
        lines = [budget_line(obs), "", "Skill tree (validation accuracy; subskills):"]
        for skill, node in json.loads(obs["tree"]).items():
            lines.append(
                f"- {skill} ({self.domain.describe_skill(skill)}): {100 * node['accuracy']:.0f}%"
            )
            for name, sub in node["subskills"].items():
                acc = sub["student_accuracy"]
                shown = "not generated yet" if acc is None else f"student {100 * acc:.0f}% on it"
                lines.append(f"    - {name}: allocation {sub['allocation']}, {shown}")
        lines += ["", ACTION_FORMAT]
        return "\n".join(lines)

    # --- actions -----------------------------------------------------------------------------

    def _action_items(self, action: Any) -> list[Any]:
        if isinstance(action, str):
            if len(action) > self.max_action_length:
                raise ValueError(f"action text exceeds {self.max_action_length} characters")
            action = decode_json_action(action)
        if isinstance(action, Mapping):
            return [action]
        if isinstance(action, Sequence) and not isinstance(action, (str, bytes, bytearray)):
            return list(action)
        raise TypeError(
            "a skill-tree action is an explore/exploit mapping, a list of them, or JSON text; "
            f"got {type(action).__name__}"
        )

    def _apply(self, item: Any) -> str | None:
        """Apply one explore/exploit item to the tree; the reason it is invalid, or None."""
        if not isinstance(item, Mapping):
            return f"an action must be a mapping, got {type(item).__name__}"
        skill = item.get("skill")
        if not isinstance(skill, str):
            return f"'skill' must be a string naming a skill, got {type(skill).__name__}"
        if skill not in self._tree:
            return f"unknown skill {skill!r}"
        moves = [k for k in ("explore", "exploit") if k in item]
        if len(moves) != 1 or set(item) - {"skill", *moves}:
            return "an action has 'skill' and exactly one of 'explore' or 'exploit'"
        body = item[moves[0]]
        if not isinstance(body, Mapping):
            return f"{moves[0]!r} must be a mapping"
        node = self._tree[skill]
        if moves[0] == "explore":
            names, allocation = body.get("subskills"), body.get("allocation", 0)
            if not isinstance(names, list) or not names:
                return "explore needs a non-empty 'subskills' list"
            if isinstance(allocation, int):
                allocation = [allocation] * len(names)
            if not isinstance(allocation, list) or len(allocation) != len(names):
                return "explore 'allocation' is an integer or one integer per subskill"
            for name, n in zip(names, allocation, strict=True):
                reason = self._check_name(node, name) or self._check_count(n)
                if reason:
                    return reason
            if len(node) + len(names) > self.max_subskills:
                return f"at most {self.max_subskills} subskills per skill"
            for name, n in zip(names, allocation, strict=True):
                node[name] = {"allocation": n, "generated": 0, "student_accuracy": None}
            return None
        allocation = body.get("allocation")
        if not isinstance(allocation, Mapping) or not allocation:
            return "exploit needs an 'allocation' mapping {subskill: n}"
        for name, n in allocation.items():
            if name not in node:
                return f"unknown subskill {name!r} of {skill}"
            if reason := self._check_count(n):
                return reason
        for name, n in allocation.items():
            node[name]["allocation"] = n
        return None

    @staticmethod
    def _check_name(node: Mapping[str, Any], name: Any) -> str | None:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            return f"a subskill name is a non-empty string of at most {MAX_NAME} characters"
        return f"subskill {name!r} already exists" if name in node else None

    def _check_count(self, n: Any) -> str | None:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= self.max_allocation:
            return f"an allocation is an integer in [0, {self.max_allocation}]"
        return None

    def _examples_for(self, action: Any, budget: int) -> tuple[Parsed, dict[str, Any]]:
        info: dict[str, Any] = {"rejected_actions": []}
        try:
            items = self._action_items(action)
        except ValueError as error:
            items, info["error"] = [], str(error)
        for index, item in enumerate(items):
            if reason := self._apply(item):
                info["rejected_actions"].append({"index": index, "reason": reason})
        plan = [
            (skill, name, sub["allocation"])
            for skill, node in self._tree.items()
            for name, sub in node.items()
            if sub["allocation"] > 0
        ]
        total = sum(n for _, _, n in plan)
        info["allocation_scaled"] = total > budget
        if total > budget:
            plan = [(s, name, n * budget // total) for s, name, n in plan]
        generated = Generated()
        for skill, name, n in plan:
            if n == 0:
                continue
            batch = self.engine.generate(self.domain, skill, name, n, self.np_random)
            self._probe(self._tree[skill][name], batch)
            generated.merge(batch)
        info["engine"] = generated.stats()
        parsed = parse_examples(generated.examples, self.domain, budget)
        parsed.error = info.pop("error", None)
        return parsed, info

    def _probe(self, sub: dict[str, Any], batch: Generated) -> None:
        """Record the student's accuracy on a few generated examples before training."""
        sub["generated"] += len(batch.examples)
        probe = batch.examples[: self.probe_per_subskill]
        if not probe:
            return
        graded = self._evaluate([self.domain.as_task_item(e) for e in probe])
        sub["student_accuracy"] = sum(g.correct for g in graded) / len(graded)
