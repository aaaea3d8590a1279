"""ReGAL-Date-v0: observations, verdicts and error reports for programs run in the sandbox."""

from __future__ import annotations

import warnings
from datetime import date

import pytest
from gymnasium.utils.env_checker import check_env
from program_support import needs_sandbox

from societygym.envs.programs.date import questions as q
from societygym.envs.programs.date.env import ReGALDateEnv
from societygym.envs.programs.date.tasks import FAMILIES, load_tasks, make_task

CHRISTMAS = make_task("holiday", q.holiday("Christmas Eve", 1937), q.days(-10))  # 12/14/1937
HELPER = '''
def days_before(day, n):
    """The date n days before day, as MM/DD/YYYY."""
    from datetime import timedelta
    return (day - timedelta(days=n)).strftime("%m/%d/%Y")
'''


def christmas_env(**kwargs) -> ReGALDateEnv:
    env = ReGALDateEnv(tasks=[CHRISTMAS], **kwargs)
    env.reset(seed=0)
    return env


def test_observation_lists_question_instructions_and_helpers() -> None:
    env = ReGALDateEnv(tasks=[CHRISTMAS], helpers=[HELPER])
    observation, info = env.reset(seed=0)
    assert observation.startswith(f"Question: {CHRISTMAS.question}")
    assert "`answer`" in observation and "MM/DD/YYYY" in observation
    assert "dateutil" in observation
    assert "def days_before(day, n):" in observation
    assert info == {"task_id": CHRISTMAS.id, "family": "holiday"}
    assert "helpers" not in ReGALDateEnv(tasks=[CHRISTMAS]).reset(seed=0)[0]


def test_reset_options_and_determinism() -> None:
    env = ReGALDateEnv(split="dev")
    assert env.tasks == load_tasks(split="dev")
    assert env.reset(seed=5) == env.reset(seed=5)
    observation, info = env.reset(options={"index": 3})
    assert info["task_id"] == env.tasks[3].id and env.tasks[3].question in observation
    with pytest.raises(IndexError):
        env.reset(options={"index": len(env.tasks)})
    with pytest.raises(ValueError, match="no tasks"):
        ReGALDateEnv(tasks=[])
    with pytest.raises(TypeError, match="sequence"):
        ReGALDateEnv(helpers="def f(): pass")


def test_contract_errors_without_running_anything() -> None:
    env = christmas_env(max_program_length=100)
    with pytest.raises(TypeError, match="program"):
        env.step(b"answer = 1")
    _, reward, terminated, _, info = env.step("#" * 101)
    assert (reward, terminated) == (0.0, True)
    assert info["error"] == "the program has 101 characters; the limit is 100"
    with pytest.raises(RuntimeError, match="reset"):
        env.step("answer = '12/14/1937'")


@needs_sandbox
def test_reference_programs_are_right_in_the_sandbox() -> None:
    tasks = load_tasks(split="test")
    sample = [next(t for t in tasks if t.family == family) for family in FAMILIES]
    env = ReGALDateEnv(tasks=sample)
    for index, task in enumerate(sample):
        env.reset(options={"index": index})
        observation, reward, terminated, truncated, info = env.step(task.program)
        assert (reward, terminated, truncated) == (1.0, True, False), info
        assert info["correct"] and info["answer"] == task.answer == info["gold"]
        assert "error" not in info and observation == f"Correct: {task.answer}."


@needs_sandbox
def test_wrong_answers_are_judged_wrong() -> None:
    off_by_one = CHRISTMAS.program.replace("days=10", "days=11")
    cases = {
        off_by_one: "12/13/1937",
        "answer = '1937-12-14'": "1937-12-14",  # right day, wrong format
        "answer = '12/14/37'": "12/14/37",
    }
    for program, answer in cases.items():
        env = christmas_env()
        observation, reward, _, _, info = env.step(program)
        assert reward == 0.0 and not info["correct"] and info["answer"] == answer
        assert "error" not in info and observation.startswith("Wrong")


@needs_sandbox
def test_whitespace_around_the_answer_is_ignored_and_helpers_work() -> None:
    _, reward, _, _, info = christmas_env().step("answer = ' 12/14/1937\\n'")
    assert reward == 1.0, info
    program = "from datetime import date\nanswer = days_before(date(1937, 12, 24), 10)"
    _, reward, _, _, info = christmas_env(helpers=[HELPER]).step(program)
    assert reward == 1.0, info
    _, reward, _, _, info = christmas_env().step(program)
    assert reward == 0.0 and "days_before" in info["error"]


@needs_sandbox
def test_errors_are_reported_clearly() -> None:
    cases = {
        "answer = (": "syntax: ",
        "answer = 1 / 0": "ZeroDivisionError",
        "import os\nanswer = os.getcwd()": "forbidden: ",
        "import socket": "not allowed",
        "().__class__.__base__.__subclasses__()": "forbidden names",
        "while True:\n    pass": "timeout: ",
        "today = 1": "does not define 'answer'",
        "answer = None": "did not set `answer`",
        "answer = 20": "must be a str in MM/DD/YYYY, got int",
        f"from datetime import date\nanswer = {q.date_code(date(1937, 12, 14))}": "must be a str",
    }
    for program, message in cases.items():
        env = christmas_env(timeout_s=1.0)
        observation, reward, terminated, _, info = env.step(program)
        assert reward == 0.0 and terminated and not info["correct"], program
        assert message in info["error"], (program, info["error"])
        assert observation.startswith("The program failed: ")


@needs_sandbox
def test_printed_output_is_kept() -> None:
    _, _, _, _, info = christmas_env().step("print('thinking')\nanswer = '12/14/1937'")
    assert info["stdout"] == "thinking\n" and info["correct"]


@needs_sandbox
def test_date_env_passes_check_env() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(ReGALDateEnv(), skip_render_check=True)
