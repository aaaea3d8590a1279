"""Every environment id of the suite, with the metadata ``societygym list`` prints.

Entry points are strings so that registering costs nothing: torch, transformers and the
data tables are only imported when an env is made.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EnvEntry:
    id: str
    entry_point: str
    setting: str
    modality: str  # "text" | "text+image" | "structured"
    multi_agent: bool
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    nondeterministic: bool = False
    # the env's own step limit (its default), declared so that gym.make adds a TimeLimit;
    # ``step_limit_kwarg`` is the env argument that changes it (``make`` keeps both in step)
    max_episode_steps: int | None = None
    step_limit_kwarg: str | None = None
    # cheap settings for the certification tests (e.g. a tiny student model)
    test_kwargs: dict[str, Any] = field(default_factory=dict)


# a tiny random student and a two-iteration budget keep the certification tests fast
_DATAENV_TEST_KWARGS: dict[str, Any] = {
    "student": "tiny",
    "max_iterations": 2,
    "max_examples": 40,
    "val_per_skill": 1,
    "test_per_skill": 1,
    "max_errors_shown": 4,
    "train_config": {"epochs": 1},
}
_DATAENV_SETTING = "teacher/student data generation (DataEnvGym)"
# code and plans are long answers: cut them at 16 tokens for the tiny student
_LONG_ANSWER_TEST_KWARGS = {**_DATAENV_TEST_KWARGS, "domain_kwargs": {"max_new_tokens": 16}}

_KIND_ENTRY_POINTS = {
    "open-ended": "societygym.envs.dataenv.open_ended_env:OpenEndedEnv",
    "skill-list": "societygym.envs.dataenv.skill_list_env:SkillListEnv",
    "skill-tree": "societygym.envs.dataenv.skill_tree_env:SkillTreeEnv",
}


@dataclass(frozen=True)
class TeachingDomain:
    """One teaching domain: the registry makes its three env kinds
    (``DataEnv-<stem>-v0``, ``-SkillList-v0``, ``-SkillTree-v0``) and the leaderboard one
    suite per kind. ``name`` is its key in ``societygym.envs.dataenv.domains.DOMAINS``."""

    name: str
    stem: str
    descriptions: tuple[str, str, str]  # open-ended, skill-list, skill-tree
    test_kwargs: dict[str, Any] = field(default_factory=lambda: dict(_DATAENV_TEST_KWARGS))

    def env_id(self, kind: str) -> str:
        return f"DataEnv-{self.stem}{_KIND_ID_PARTS[kind]}-v0"


_KIND_ID_PARTS = {"open-ended": "", "skill-list": "-SkillList", "skill-tree": "-SkillTree"}

# Adding a teaching domain is one entry here (and its factory in ``domains.DOMAINS``).
TEACHING_DOMAINS: tuple[TeachingDomain, ...] = (
    TeachingDomain(
        "math",
        "Math",
        (
            "Write training data for a real student model from its validation errors; "
            "reward = change in its validation accuracy.",
            "Teach a real student with its per-skill accuracy and errors grouped by "
            "skill; reward = change in validation accuracy.",
            "Explore subskills and allocate data over a skill tree; the env generates "
            "the data and trains the student.",
        ),
    ),
    TeachingDomain(
        "vqa",
        "VQA",
        (
            "Teach a CNN visual question answerer from its errors (with their images); "
            "examples are {image description, question, answer}.",
            "Teach a VQA student per question type (shape, colour, yes/no, count, "
            "position) with its per-skill accuracy and error images.",
            "Allocate data over a VQA skill tree; the env draws the scenes (exact "
            "procedural renderer) and trains the student.",
        ),
    ),
    TeachingDomain(
        "code",
        "Code",
        (
            "Teach a real student to write Python functions from its failed unit tests "
            "(pass@1 in the sandbox); teacher code must pass its own tests.",
            "Teach Python function writing with per-skill pass rates (string, list, "
            "arithmetic, parsing, dict).",
            "Grow a skill tree over Python function-writing skills; the env generates "
            "verified problems and trains the student.",
        ),
        _LONG_ANSWER_TEST_KWARGS,
    ),
    TeachingDomain(
        "tooluse",
        "ToolUse",
        (
            "Teach a real student to write M&Ms-style JSON tool plans from its failed "
            "requests; correct = executes to the gold result.",
            "Teach tool planning with per-skill execution accuracy over 18 deterministic tools.",
            "Grow a skill tree over tool-use skills; the env generates requests with gold "
            "plans and trains the student.",
        ),
        _LONG_ANSWER_TEST_KWARGS,
    ),
)


def _teaching_entries(domain: TeachingDomain) -> tuple[EnvEntry, ...]:
    """A domain's three env kinds (domains plug into the kinds, not copies of them)."""
    return tuple(
        EnvEntry(
            id=domain.env_id(kind),
            entry_point=entry_point,
            setting=_DATAENV_SETTING,
            modality="structured",
            multi_agent=False,
            description=description,
            kwargs={} if domain.name == "math" else {"domain": domain.name},
            max_episode_steps=3,  # the envs' default max_iterations
            step_limit_kwarg="max_iterations",
            test_kwargs=domain.test_kwargs,
        )
        for (kind, entry_point), description in zip(
            _KIND_ENTRY_POINTS.items(), domain.descriptions, strict=True
        )
    )


ENTRIES: tuple[EnvEntry, ...] = (
    EnvEntry(
        id="Trivia-Calibration-v0",
        entry_point="societygym.envs.trivia.calibration_env:TriviaCalibrationEnv",
        setting="trivia calibration (LACIE)",
        modality="text",
        multi_agent=False,
        description="Answer a trivia question conveying your confidence; a listener who "
        "cannot see the answer accepts or rejects it.",
    ),
    EnvEntry(
        id="Trivia-Listener-v0",
        entry_point="societygym.envs.trivia.listener_env:TriviaListenerEnv",
        setting="trivia calibration (LACIE)",
        modality="text",
        multi_agent=False,
        description="Be the listener: accept or reject a speaker's anonymized answer from "
        "its phrasing alone.",
    ),
    EnvEntry(
        id="Persuasion-v0",
        entry_point="societygym.envs.persuasion.persuasion_env:PersuasionEnv",
        setting="two-agent persuasion (PBT)",
        modality="text",
        multi_agent=True,
        description="Two agents answer a trivia question on their own, then argue until they "
        "agree; each is rewarded for a right final answer.",
    ),
    EnvEntry(
        id="Persuasion-Balanced-v0",
        entry_point="societygym.envs.persuasion.balanced_env:BalancedPersuasionEnv",
        setting="two-agent persuasion (PBT)",
        modality="text",
        multi_agent=False,
        description="A partner argues against your answer: resist when you were right, accept "
        "when you were wrong (exactly half of each).",
    ),
    EnvEntry(
        id="Persuasion-AreYouSure-v0",
        entry_point="societygym.envs.persuasion.are_you_sure_env:AreYouSureEnv",
        setting="two-agent persuasion (PBT)",
        modality="text",
        multi_agent=False,
        description="Answer, get challenged with 'Are you sure?', then give a final answer; "
        "scored by the change in accuracy.",
    ),
    EnvEntry(
        id="Persuasion-Misinformation-v0",
        entry_point="societygym.envs.persuasion.misinformation_env:MisinformationEnv",
        setting="two-agent persuasion (PBT)",
        modality="text",
        multi_agent=False,
        description="A partner pushes a false answer in a chosen style (logical, credibility, "
        "emotional); do not adopt it.",
    ),
    EnvEntry(
        id="ReGAL-Logo-v0",
        entry_point="societygym.envs.programs.logo.logo_env:ReGALLogoEnv",
        setting="program synthesis with abstractions (ReGAL)",
        modality="text+image",
        multi_agent=False,
        description="Write a turtle-graphics program that draws what a templated LOGO query "
        "describes; judged by pixel overlap with the target drawing.",
    ),
    EnvEntry(
        id="ReGAL-Date-v0",
        entry_point="societygym.envs.programs.date.date_env:ReGALDateEnv",
        setting="program synthesis with abstractions (ReGAL)",
        modality="text",
        multi_agent=False,
        description="Write a Python program whose `answer` is the date a word problem asks "
        "for, as MM/DD/YYYY; the program runs in the sandbox.",
    ),
    EnvEntry(
        id="TextCraft-v0",
        entry_point="societygym.envs.programs.textcraft.textcraft_env:TextCraftEnv",
        setting="program synthesis with abstractions (ReGAL)",
        modality="text",
        multi_agent=False,
        description="Craft a Minecraft item from text recipes, one get/craft/inventory "
        "command per step (ADaPT's TextCraft).",
        max_episode_steps=40,  # the env's default max_steps (ADaPT's 40)
        step_limit_kwarg="max_steps",
    ),
    EnvEntry(
        id="ReGAL-TextCraft-v0",
        entry_point="societygym.envs.programs.textcraft.program_env:TextCraftProgramEnv",
        setting="program synthesis with abstractions (ReGAL)",
        modality="text",
        multi_agent=False,
        description="Craft a Minecraft item by writing one program over get_object / "
        "craft_object / check_inventory; the program runs in the sandbox.",
    ),
    *(entry for domain in TEACHING_DOMAINS for entry in _teaching_entries(domain)),
)


def register_all() -> None:
    """Register every id with Gymnasium, or with PettingZoo's parallel registry."""
    import gymnasium

    for entry in ENTRIES:
        if entry.multi_agent:
            import pettingzoo

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # re-import after a reload re-registers
                pettingzoo.register("parallel", entry.id, entry.entry_point, kwargs=entry.kwargs)
        elif entry.id not in gymnasium.registry:
            gymnasium.register(
                id=entry.id,
                entry_point=entry.entry_point,
                kwargs=entry.kwargs,
                nondeterministic=entry.nondeterministic,
                max_episode_steps=entry.max_episode_steps,
                disable_env_checker=False,
            )


def list_envs(multi_agent: bool | None = None) -> list[str]:
    """All registered ids (optionally only the single- or multi-agent ones)."""
    return [e.id for e in ENTRIES if multi_agent is None or e.multi_agent == multi_agent]


def with_time_limit(env_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` for ``gymnasium.make`` with ``max_episode_steps`` following the env's own
    limit argument when one is given, so that the TimeLimit never ends an episode before
    the env would (``gym.make(id, max_steps=60)`` alone keeps the spec's 40)."""
    limit_kwarg = entry(env_id).step_limit_kwarg
    if limit_kwarg is None or limit_kwarg not in kwargs or "max_episode_steps" in kwargs:
        return kwargs
    return {**kwargs, "max_episode_steps": int(kwargs[limit_kwarg])}


def entry(env_id: str) -> EnvEntry:
    for candidate in ENTRIES:
        if candidate.id == env_id:
            return candidate
    raise KeyError(f"unknown env id {env_id!r}; `societygym list` shows the ids")
