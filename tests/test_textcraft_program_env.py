"""ReGAL-TextCraft-v0: the program API, the trusted replay, and programs run in the sandbox."""

from __future__ import annotations

import pickle
import warnings

import pytest
from gymnasium.utils.env_checker import check_env
from program_support import needs_sandbox

from societygym.envs.programs.textcraft.planner import program_from_commands, solve
from societygym.envs.programs.textcraft.program_api import (
    MAX_COMMANDS,
    TRACE_NAME,
    ProgramWorld,
    replay,
)
from societygym.envs.programs.textcraft.program_env import TextCraftProgramEnv
from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION, load_book

HELPER = '''
def make_all(gets, crafts):
    """Gather every raw item, then run every craft in order."""
    for item in gets:
        get_object(item)
    for target, ingredients in crafts:
        craft_object(target, ingredients)
'''


def reference_program(goal: str) -> str:
    return program_from_commands(solve(goal, load_book()))


def test_reference_program_format() -> None:
    assert reference_program("crafting table") == (
        'get_object("1 oak log")\n'
        'craft_object("4 oak planks", ["1 oak log"])\n'
        'craft_object("1 crafting table", ["4 oak planks"])\n'
        "check_inventory()\n"
    )


def test_program_api_in_process() -> None:
    world = ProgramWorld()
    namespace = world.namespace()
    exec(reference_program("lectern"), namespace)  # our own trusted program
    assert namespace[TRACE_NAME][0] == "get 3 oak log"
    verdict = replay(DEFAULT_VERSION, namespace[TRACE_NAME], "lectern")
    assert verdict["success"] and verdict["inventory"]["lectern"] == 1
    assert verdict["trace"][-1]["message"].startswith("Inventory: ")
    assert world.get_object("1 stick") == "Could not find stick"
    with pytest.raises(TypeError, match="a str such as"):
        world.get_object(3)
    with pytest.raises(TypeError, match="list such as"):
        world.craft_object("4 oak planks", "1 oak log")


def test_program_world_pickles_fresh_with_a_shared_trace() -> None:
    namespace = pickle.loads(pickle.dumps(ProgramWorld().namespace()))
    assert namespace["get_object"]("2 oak log") == "Got 2 oak log"
    assert namespace["check_inventory"]() == "Inventory: [oak log] (2)"
    assert namespace[TRACE_NAME] == ["get 2 oak log", "inventory"]
    used = ProgramWorld()
    used.check_inventory()
    with pytest.raises(TypeError, match="fresh"):
        pickle.dumps(used)


def test_command_budget() -> None:
    world = ProgramWorld()
    for _ in range(MAX_COMMANDS):
        world.check_inventory()
    assert "used all" in world.check_inventory()
    assert len(world.trace) == MAX_COMMANDS


def test_replay_judges_what_commands_do() -> None:
    assert not replay(DEFAULT_VERSION, ["get 1 lectern"], "lectern")["success"]
    assert replay(DEFAULT_VERSION, [], "lectern") == {
        "trace": [],
        "inventory": {},
        "success": False,
    }


def test_observation_and_contract_errors() -> None:
    env = TextCraftProgramEnv(helpers=[HELPER])
    observation, info = env.reset(seed=1, options={"goal": "lectern"})
    assert "Goal: craft lectern." in observation
    assert 'craft_object("4 oak planks", ["1 oak log"])' in observation
    assert "def make_all(gets, crafts):" in observation
    assert info == {"goal": "lectern", "task_id": f"textcraft-{env.book.goals.index('lectern')}"}
    with pytest.raises(TypeError, match="program"):
        env.step(None)
    env.reset(seed=1)
    _, reward, terminated, _, info = env.step("x" * (env.action_space.max_length + 1))
    assert reward == 0.0 and terminated and "limit" in info["error"]
    with pytest.raises(RuntimeError, match="reset"):
        env.step("check_inventory()")
    with pytest.raises(TypeError, match="sequence"):
        TextCraftProgramEnv(helpers="def f(): pass")


@needs_sandbox
def test_reference_programs_craft_their_goals_in_the_sandbox() -> None:
    env = TextCraftProgramEnv()
    goals = env.book.goals[::10]
    for goal in goals:
        env.reset(seed=0, options={"goal": goal})
        _, reward, terminated, truncated, info = env.step(reference_program(goal))
        assert (reward, terminated, truncated) == (1.0, True, False), (goal, info)
        assert info["success"] and "error" not in info
        assert info["trace"][-1]["command"] == "inventory"


@needs_sandbox
def test_helpers_run_before_the_program() -> None:
    env = TextCraftProgramEnv(helpers=[HELPER])
    env.reset(seed=0, options={"goal": "crafting table"})
    program = (
        'make_all(["1 oak log"], [("4 oak planks", ["1 oak log"]), '
        '("1 crafting table", ["4 oak planks"])])'
    )
    _, reward, _, _, info = env.step(program)
    assert reward == 1.0, info


@needs_sandbox
def test_wrong_and_failing_programs() -> None:
    env = TextCraftProgramEnv(timeout_s=1.0)
    partial = "\n".join(reference_program("lectern").splitlines()[:-2])  # stops before lectern
    cases = {
        partial: None,
        f'{TRACE_NAME}.append("get 1 lectern")': None,  # a forged record is replayed honestly
        "get_object(": "syntax",
        'craft_object("1 lectern", "1 bookshelf")': "exception",
        "import os": "forbidden",
        "while True:\n    check_inventory()": "timeout",
        f"{TRACE_NAME} = 5": "replaced",
    }
    for program, error in cases.items():
        env.reset(seed=0, options={"goal": "lectern"})
        _, reward, terminated, _, info = env.step(program)
        assert reward == 0.0 and terminated and not info["success"], program
        if error is None:
            assert "error" not in info, info
        else:
            assert error in info["error"], (program, info["error"])


@needs_sandbox
def test_program_env_passes_check_env() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(TextCraftProgramEnv(), skip_render_check=True)
