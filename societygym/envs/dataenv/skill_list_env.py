"""DataEnv-<Domain>-SkillList-v0: teach with per-skill accuracy and errors grouped by skill."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from gymnasium import spaces

from societygym.envs.dataenv.open_ended_env import DATA_FORMAT, budget_line, error_lines
from societygym.envs.dataenv.records import accuracy_by_skill
from societygym.envs.dataenv.teaching_env import TeachingEnv, error_record
from societygym.spaces import UnicodeText


def skill_table(domain: Any, per_skill: dict[str, float]) -> list[str]:
    return [
        f"- {skill}: {100 * acc:.0f}% ({domain.describe_skill(skill)})"
        for skill, acc in per_skill.items()
    ]


class SkillListEnv(TeachingEnv):
    """Like ``DataEnv-<Domain>-v0``, but the teacher sees the student's skills.

    ## Observation (``Dict``)
    The open-ended fields plus ``skill_accuracy`` (``Box`` of shape (number of skills,), in
    the order of ``env.skills``) and ``skill_errors`` (JSON ``{skill: [errors]}``, up to
    ``max_errors_per_skill`` each); ``errors`` entries carry their ``skill``.

    ## Action
    As open-ended; each example may carry a ``skill`` label, which must be one of
    ``env.skills`` (an unknown label rejects the example).

    Reward, episode end, info, arguments: as ``DataEnv-<Domain>-v0``, plus
    ``max_errors_per_skill``.

    ## Version history
    v0: first release.
    """

    kind = "skill-list"
    show_skills = True
    agent_prompt = "You are teaching a small student model, skill by skill.\n{observation}"

    def __init__(self, *args: Any, max_errors_per_skill: int = 5, **kwargs: Any) -> None:
        self.max_errors_per_skill = int(max_errors_per_skill)
        super().__init__(*args, **kwargs)

    def _observation_spaces(self, max_text_length: int) -> dict[str, spaces.Space]:
        return {
            **super()._observation_spaces(max_text_length),
            "skill_accuracy": spaces.Box(0.0, 1.0, (len(self.skills),), np.float32),
            "skill_errors": UnicodeText(max_text_length),
        }

    def _skill_errors(self) -> dict[str, list[dict[str, str]]]:
        grouped: dict[str, list[dict[str, str]]] = {}
        for skill in self.skills:
            wrong = [g for g in self._feedback if g.item.skill == skill and not g.correct]
            shown = min(len(wrong), self.max_errors_per_skill)
            picked = self.np_random.choice(len(wrong), size=shown, replace=False) if shown else []
            if shown:
                grouped[skill] = [error_record(wrong[i], False) for i in picked]
        return grouped

    def _extra_observation(self) -> dict[str, Any]:
        per_skill = accuracy_by_skill(self._feedback, self.skills)
        return {
            "skill_accuracy": [per_skill[s] for s in self.skills],
            "skill_errors": json.dumps(self._skill_errors(), ensure_ascii=False),
        }

    def _render_text(self, obs: dict[str, Any]) -> str:
        per_skill = dict(zip(self.skills, obs["skill_accuracy"], strict=True))
        lines = [budget_line(obs), "", "Validation accuracy per skill:"]
        lines += skill_table(self.domain, per_skill)
        for skill, errors in json.loads(obs["skill_errors"]).items():
            lines += ["", f"Errors in {skill}:", *error_lines(errors)]
        lines += [
            "",
            DATA_FORMAT[:-1] + ', optionally with "skill": "<one of the skills above>".',
            *self.domain.example_hint,
        ]
        return "\n".join(lines)
