"""Difficulty levels: every level of every env plays valid episodes, levels get harder in the
direction they claim, the same seed gives the same episode, and bad values are refused with
the valid ones listed. (Defaults are pinned by the leaderboard's instance and version tests.)"""

from __future__ import annotations

import itertools
import statistics

import pytest

from societygym.agents.teachers import SkillListTeacher
from societygym.contracts import LeveledEnv, difficulty_levels
from societygym.envs.dataenv.skill_list_env import SkillListEnv
from societygym.envs.dataenv.students.memorizer import MemorizingStudent
from societygym.envs.dataenv.teaching_env import DIFFICULTY as TEACHING_DIFFICULTY
from societygym.envs.persuasion.balanced_env import BalancedPersuasionEnv
from societygym.envs.persuasion.persuasion_env import PersuasionEnv
from societygym.envs.programs.date import tasks as date_tasks
from societygym.envs.programs.date.date_env import ReGALDateEnv
from societygym.envs.programs.logo.logo_env import ReGALLogoEnv
from societygym.envs.programs.logo.tasks import parts_of
from societygym.envs.programs.textcraft.planner import program_from_commands, solve
from societygym.envs.programs.textcraft.program_env import TextCraftProgramEnv
from societygym.envs.programs.textcraft.textcraft_env import TextCraftEnv
from societygym.envs.trivia import difficulty as trivia_difficulty
from societygym.envs.trivia.calibration_env import TriviaCalibrationEnv
from societygym.envs.trivia.data import FAMILIES, TriviaItem
from societygym.registry import ENTRIES

LEVELED = (
    TriviaCalibrationEnv,
    PersuasionEnv,
    BalancedPersuasionEnv,
    ReGALDateEnv,
    ReGALLogoEnv,
    TextCraftEnv,
    TextCraftProgramEnv,
    SkillListEnv,
)


def levels(env_class: type) -> range:
    return range(1, len(difficulty_levels(env_class)) + 1)


def test_every_env_but_the_listener_declares_levels() -> None:
    import importlib

    for entry in ENTRIES:
        module, _, name = entry.entry_point.partition(":")
        env_class = getattr(importlib.import_module(module), name)
        declared = isinstance(env_class, LeveledEnv)
        assert declared == (entry.id != "Trivia-Listener-v0"), entry.id
        assert all(isinstance(text, str) and text for text in difficulty_levels(env_class))


@pytest.mark.parametrize("env_class", LEVELED, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [0, 99, "hard", 1.5, True])
def test_bad_levels_are_refused_with_the_valid_ones(env_class: type, bad: object) -> None:
    kwargs = {"student": MemorizingStudent()} if env_class is SkillListEnv else {}
    with pytest.raises(ValueError, match=r"difficulty must be None .* a level from 1 to \d \(1: "):
        env_class(difficulty=bad, **kwargs)


# --- Date ---------------------------------------------------------------------------------


def test_date_levels_reach_further_and_play() -> None:
    spans = []
    for level in levels(ReGALDateEnv):
        env = ReGALDateEnv(difficulty=level)
        task = env.tasks[0]
        env.reset(options={"index": 0})
        assert env.step(task.program)[1] == 1.0
        spans.append([t.span_days for t in env.tasks])
    for easier, harder in itertools.pairwise(spans):
        assert max(easier) < min(harder)
    assert spans[-1] and max(spans[-1]) > 365


def test_date_families_filter_and_refuse_unknown_ones() -> None:
    env = ReGALDateEnv(families=["leap_year", "hours"], difficulty=1)
    assert {t.family for t in env.tasks} == {"leap_year", "hours"}
    with pytest.raises(ValueError, match="valid families: format, yesterday_tomorrow"):
        ReGALDateEnv(families=["weekday"])
    loaded = [date_tasks.DateTask("x", "regal", "Today is 1/1/2000. Tomorrow?", "01/02/2000", None)]
    with pytest.raises(ValueError, match="difficulty needs generated tasks"):
        ReGALDateEnv(tasks=loaded, difficulty=1)


def test_a_level_replays_per_seed() -> None:
    env = ReGALDateEnv(difficulty=3)
    first = [env.reset(seed=seed)[0] for seed in (4, 5)]
    assert first == [env.reset(seed=seed)[0] for seed in (4, 5)]
    assert first[0] != first[1]


# --- LOGO ---------------------------------------------------------------------------------


def test_logo_levels_draw_more_parts_and_play() -> None:
    parts = []
    for level in levels(ReGALLogoEnv):
        env = ReGALLogoEnv(difficulty=level)
        env.reset(options={"index": 0})
        assert env.step(env.tasks[0].program)[1] == 1.0
        parts.append([parts_of(t.query) for t in env.tasks])
    for easier, harder in itertools.pairwise(parts):
        assert max(easier) < min(harder)
    assert parts_of("6 sided snowflake with a short line and a small square as arms") == 12
    assert parts_of("a small square connected by a big line to a small circle") == 3
    env = ReGALLogoEnv(families=["snowflake"], difficulty=2)
    assert {t.family for t in env.tasks} == {"snowflake"}


# --- TextCraft ----------------------------------------------------------------------------


def test_textcraft_levels_need_more_crafting_and_show_more_distractors() -> None:
    crafts, distractors = [], []
    for level in levels(TextCraftEnv):
        env = TextCraftEnv(difficulty=level)
        _, info = env.reset(seed=level)
        reward = 0.0
        for command in solve(info["goal"], env.book):
            reward = env.step(command)[1]
        assert reward == 1.0
        crafts.append(statistics.mean(len(env.book.tree(g)) for g in env.source.goals))
        distractors.append(len(env.task.commands) - len(env.book.tree(info["goal"])))
    assert crafts == sorted(crafts) and len(set(crafts)) == len(crafts)
    assert distractors == sorted(distractors) and distractors[0] < distractors[-1]


def test_textcraft_depth_knob_and_conflicts() -> None:
    env = TextCraftEnv(depth=[1, 2])
    assert {env.book.depth[g] for g in env.source.goals} == {1, 2}
    with pytest.raises(ValueError, match=r"depth must be among \[1, 2, 3, 4\]"):
        TextCraftEnv(depth=9)
    with pytest.raises(ValueError, match="pass either difficulty or depth"):
        TextCraftEnv(difficulty=1, depth=2)
    env = TextCraftProgramEnv(difficulty=2)
    _, info = env.reset(seed=1)
    program = program_from_commands(solve(info["goal"], env.book))
    assert env.step(program)[1] == 1.0


# --- trivia and persuasion ----------------------------------------------------------------


def test_trivia_levels_split_the_families_by_measured_accuracy() -> None:
    by_level = [trivia_difficulty.families_at(k) for k in levels(TriviaCalibrationEnv)]
    assert sorted(f for fams in by_level for f in fams) == sorted(FAMILIES)
    accuracy = trivia_difficulty.FAMILY_ACCURACY
    for easier, harder in itertools.pairwise(by_level):
        assert min(accuracy[f] for f in easier) > max(accuracy[f] for f in harder)
    for level, families in enumerate(by_level, 1):
        env = TriviaCalibrationEnv(difficulty=level)
        assert {it.family for it in env.items} == set(families)
        _, info = env.reset(seed=0)
        gold = env.items[[it.id for it in env.items].index(info["question_id"])].answers[0]
        assert env.step(f"I am sure it is {gold}.")[-1]["correct"]


def test_trivia_difficulty_needs_the_embedded_families() -> None:
    jsonl = [TriviaItem("q1", "Who?", ("Ada",), "jsonl", "test")]
    with pytest.raises(ValueError, match="use source='embedded'"):
        TriviaCalibrationEnv(questions=jsonl, difficulty=1)
    with pytest.raises(ValueError, match="valid families: "):
        TriviaCalibrationEnv(difficulty=1, families=[trivia_difficulty.families_at(3)[0]])


def test_persuasion_levels_pick_their_questions() -> None:
    for level in levels(BalancedPersuasionEnv):
        env = BalancedPersuasionEnv(difficulty=level)
        assert {it.family for it in env.items} == set(trivia_difficulty.families_at(level))
        env.reset(seed=0)
        assert env.step("I still think my answer is right.")[2]
    env = PersuasionEnv(families=["capital-of"])
    assert {it.family for it in env.items} == {"capital-of"}


# --- teaching -----------------------------------------------------------------------------


def test_teaching_levels_spread_less_budget_over_more_skills() -> None:
    per_skill = []
    for level in levels(SkillListEnv):
        env = SkillListEnv(student=MemorizingStudent(), difficulty=level, val_per_skill=1)
        assert {i.skill for i in env.validation} == set(env.skills)
        obs, _ = env.reset(seed=0)
        assert obs["skill_accuracy"].shape == (len(env.skills),)
        per_skill.append(env.max_iterations * env.max_examples / len(env.skills))
    assert per_skill == sorted(per_skill, reverse=True) and len(set(per_skill)) == len(per_skill)
    assert TEACHING_DIFFICULTY[2][1:] == (3, 300)  # level 3 is the default's budget


def test_teaching_skills_knob_trains_on_a_step() -> None:
    env = SkillListEnv(student=MemorizingStudent(), skills=["parity", "gcd"], val_per_skill=2)
    assert env.skills == ("parity", "gcd")
    env.reset(seed=0)
    example = {"instruction": "Is 12 even or odd? Answer with one word.", "response": "even"}
    obs, _, _, truncated, info = env.step([example])
    assert obs["skill_accuracy"].shape == (2,) and not truncated
    assert info["accepted"] == 1
    teacher = SkillListTeacher(examples_per_step=6, skills=env.skills)
    examples = teacher.act(obs, info)
    assert {e["skill"] for e in examples} == {"parity", "gcd"}
    assert env.step(examples)[-1]["accepted"] == 6
    with pytest.raises(ValueError, match="pass either difficulty or skills"):
        SkillListEnv(student=MemorizingStudent(), difficulty=1, skills=["parity"])
