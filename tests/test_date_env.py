"""ReGAL-Date-v0: observations, verdicts and error reports for programs run in the sandbox."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import pytest
from gymnasium.utils.env_checker import check_env
from program_support import needs_sandbox

from societygym.envs.programs.date import questions as q
from societygym.envs.programs.date.date_env import ReGALDateEnv
from societygym.envs.programs.date.tasks import FAMILIES, load_regal_jsonl, load_tasks, make_task

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
        "today = 1\ntoday += 1": "does not define 'answer'",
        "today = 1": "must be a str in MM/DD/YYYY, got int",  # ReGAL's rule: the last assignment
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


REGAL_FIXTURE = Path(__file__).parent / "fixtures" / "regal_date_sample.jsonl"
# ReGAL's programs (Faithful-CoT completions) compute, assign and print; they never name the
# result ``answer`` on purpose, so these judge by the last statement
REGAL_STYLE = {
    "print of a name": (
        "from datetime import date\nd = date(2021, 3, 10)\nprint(d.strftime('%m/%d/%Y'))"
    ),
    "print of an expression": "print('03/' + '10/2021')",
    "last assignment": "from datetime import date\nresult = date(2021, 3, 10).strftime('%m/%d/%Y')",
}


def test_load_regal_jsonl() -> None:
    tasks = load_regal_jsonl(REGAL_FIXTURE)
    assert [t.id for t in tasks] == ["regal-7", "regal-8", "regal-9"]  # the repeated row once
    assert [t.answer for t in tasks] == ["03/10/2021", "03/01/1999", "03/01/2001"]
    assert tasks[0].program is None and "relativedelta" in (tasks[2].program or "")
    assert load_tasks(REGAL_FIXTURE, split="train") == tasks  # a file is one split


def test_load_regal_jsonl_rejects_rows_without_question_or_date(tmp_path: Path) -> None:
    path = tmp_path / "outputs.jsonl"
    path.write_text('{"id": 1, "answer": "01/02/2003", "completion": "print(1)"}\n')
    with pytest.raises(ValueError, match="no question"):
        load_regal_jsonl(path)
    path.write_text('{"id": 1, "question": "q?", "answer": "#### soon"}\n')
    with pytest.raises(ValueError, match="not MM/DD/YYYY"):
        load_regal_jsonl(path)


@needs_sandbox
@pytest.mark.parametrize("style", REGAL_STYLE)
def test_regal_convention_is_judged_as_regal_judged_it(style: str) -> None:
    env = ReGALDateEnv(source=REGAL_FIXTURE)
    env.reset(options={"index": 0})
    _, reward, _, _, info = env.step(REGAL_STYLE[style])
    assert reward == 1.0 and info["answer"] == "03/10/2021", info
    env.reset(options={"index": 0})
    a_day_off = REGAL_STYLE[style].replace("10", "11")
    assert env.step(a_day_off)[1] == 0.0


@needs_sandbox
def test_answer_wins_over_the_last_statement() -> None:
    env = ReGALDateEnv(tasks=load_regal_jsonl(REGAL_FIXTURE))
    env.reset(options={"index": 2})
    assert env.step(load_regal_jsonl(REGAL_FIXTURE)[2].program or "")[1] == 1.0
    env.reset(options={"index": 2})
    _, reward, _, _, info = env.step("answer = '03/01/2001'\nprint('02/28/2001')")
    assert reward == 1.0 and info["answer"] == "03/01/2001"
