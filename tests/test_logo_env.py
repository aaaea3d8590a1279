"""ReGAL-Logo-v0 end to end: programs run in the sandbox, drawings judged against targets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from societygym.envs.programs.logo import render
from societygym.envs.programs.logo.logo_env import ReGALLogoEnv
from societygym.envs.programs.logo.tasks import FAMILIES

SQUARE_HELPER = "def square(size):\n    for i in range(4):\n        forward(size)\n        left(90)"


@pytest.fixture(scope="module")
def env() -> ReGALLogoEnv:
    return ReGALLogoEnv(split="all", render_mode="rgb_array", info_images=True)


def index_of(env: ReGALLogoEnv, query: str) -> int:
    return next(i for i, t in enumerate(env.tasks) if t.query == query)


def play(env: ReGALLogoEnv, index: int, program: str) -> tuple[float, dict]:
    env.reset(options={"index": index})
    _, reward, terminated, truncated, info = env.step(program)
    assert terminated and not truncated
    return reward, info


def test_check_env() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(ReGALLogoEnv(), skip_render_check=True)


@pytest.mark.parametrize("family", FAMILIES)
def test_reference_program_solves_its_task_through_the_sandbox(env, family: str) -> None:
    index = next(i for i, t in enumerate(env.tasks) if t.family == family)
    reward, info = play(env, index, env.tasks[index].program)
    assert reward == 1.0 and info["correct"] and info["error"] is None
    assert info["overlap"] == info["iou"] == 1.0
    assert info["rendered"].shape == (render.RESOLUTION, render.RESOLUTION)


def test_wrong_drawing_gets_no_reward(env) -> None:
    index = index_of(env, "a medium square")
    reward, info = play(env, index, "for i in range(3):\n    forward(4)\n    left(90)")
    assert reward == 0.0 and not info["correct"] and 0.5 < info["overlap"] < 0.98
    assert info["error"] is None and info["rendered"].min() == render.INK


def test_observation_and_render(env) -> None:
    observation, info = env.reset(options={"index": index_of(env, "a 5 pointed star")})
    assert (
        "draws: a 5 pointed star" in observation["text"] and "forward(dist)" in observation["text"]
    )
    assert observation["image"].shape == (render.RESOLUTION, render.RESOLUTION, 3)
    assert observation["image"].min() == 0 and info["family"] == "star"
    before = env.render()
    assert before.shape == (render.RESOLUTION, 2 * render.RESOLUTION + 8, 3)
    observation, *_ = env.step("forward(10)")
    assert "Wrong" in observation["text"]
    assert not np.array_equal(env.render(), before)
    assert ReGALLogoEnv().render() is None


FAILURES = {
    "syntax": "for i in range(4)\n    forward(2)",
    "exception": "forward(undefined_size)",
    "forbidden": "import os\nforward(2)",
    "budget": "while True:\n    forward(1)",
    "bad_value": "def _drawing():\n    return 'not segments'",
}


@pytest.mark.parametrize("kind", FAILURES)
def test_failing_programs_report_why(env, kind: str) -> None:
    reward, info = play(env, 0, FAILURES[kind])
    assert reward == 0.0 and not info["correct"]
    assert info["error_type"] == kind and info["error"]
    assert info["rendered"].min() == render.PAPER


def test_budget_counts_even_when_the_program_catches_it(env) -> None:
    program = "try:\n    while True:\n        forward(1)\nexcept Exception:\n    pass"
    assert play(env, 0, program)[1]["error_type"] == "budget"


def test_timeout() -> None:
    quick = ReGALLogoEnv(timeout_s=0.5)
    quick.reset(seed=0)
    info = quick.step("while True:\n    pass")[4]
    assert info["error_type"] == "timeout"


def test_too_long_programs_are_not_run(env) -> None:
    reward, info = play(env, 0, "forward(1)\n" * 5000)
    assert reward == 0.0 and info["error_type"] == "too_long"


def test_clipped_drawings_are_flagged(env) -> None:
    info = play(env, 0, "forward(80)")[1]
    assert info["clipped"] and info["error"] is None


def test_embed_forms_run_in_the_sandbox(env) -> None:
    index = index_of(env, "4 concentric square s")
    callable_form = (
        "for j in range(5):\n    embed(lambda: [forward(2 * j) or left(90) for i in range(4)])"
    )
    string_form = (
        "for j in range(5):\n"
        '    embed("for i in range(4):\\n    forward(2 * j)\\n    left(90)", {"j": j})'
    )
    assert play(env, index, callable_form)[0] == 1.0
    assert play(env, index, string_form)[0] == 1.0
    leak = play(env, index, 'embed("import os\\nforward(2)", {})')[1]
    assert leak["error_type"] == "exception" and "__import__" in leak["error"]


def test_regal_locals_embed_runs_in_the_sandbox(env) -> None:
    """ReGAL's own form, embed(code, locals()), at module level and inside a helper."""
    index = index_of(env, "4 concentric square s")
    module_level = (
        "for j in range(5):\n"
        '    embed("""for i in range(4):\n    forward(2*j)\n    left(90.0)""", locals())'
    )
    in_helper = (
        "def square(j):\n"
        '    embed("""for i in range(4):\n    forward(2*j)\n    left(90.0)""", locals())\n'
        "for j in range(5):\n    square(j)"
    )
    assert play(env, index, module_level)[0] == 1.0
    assert play(env, index, in_helper)[0] == 1.0


LOCALS_PROBES = {
    # the snapshot holds no dunder names: the real module-level locals() held __builtins__
    "no dunders": 'ok = all(k[:2] != "__" for k in locals()) and "forward" in locals()',
    # it is read-only, and a copy: the program's globals are unchanged
    "read-only": (
        "try:\n    locals()['forward'] = None\n    ok = False\n"
        "except TypeError:\n    ok = forward is not None"
    ),
    # a helper's snapshot holds its own locals, not the module's
    "own frame": "def f(a):\n    return sorted(locals())\nok = f(1) == ['a']",
}
SQUARE_IF_OK = "\nfor i in range(4 if ok else 3):\n    forward(4)\n    left(90)"


@pytest.mark.parametrize("probe", LOCALS_PROBES)
def test_sandbox_locals_is_a_read_only_snapshot(env, probe: str) -> None:
    reward, info = play(env, index_of(env, "a medium square"), LOCALS_PROBES[probe] + SQUARE_IF_OK)
    assert reward == 1.0 and info["error"] is None, info["error"]


def test_regal_write_back_and_turtle_object_in_the_sandbox(env) -> None:
    """As in ReGAL, names an embedded string sets at module level are the program's
    afterwards, and the header's ``turtle`` object draws."""
    index = index_of(env, "4 concentric square s")
    written_back = (
        'embed("step = 2", locals())\n'
        "for j in range(5):\n"
        '    embed("""for i in range(4):\n    turtle.forward(step * j)\n    left(90.0)""",'
        " locals())"
    )
    assert play(env, index, written_back)[0] == 1.0
    # the snapshot stays read-only to the program itself
    info = play(env, index, 'locals()["step"] = 2')[1]
    assert info["error_type"] == "exception" and "does not support item assignment" in info["error"]
