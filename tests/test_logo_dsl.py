"""The LOGO turtle DSL, the rasterizer and the judge (all in-process, no sandbox)."""

from __future__ import annotations

import numpy as np
import pytest

from societygym.envs.programs.logo import judge, render
from societygym.envs.programs.logo.dsl import (
    DRAWING_NAME,
    BudgetExceeded,
    dsl_namespace,
    run_program,
)
from societygym.sandbox.errors import SandboxViolation
from societygym.sandbox.namespace import restricted_locals


def final_state(source: str) -> tuple:
    namespace = dsl_namespace()
    exec(source, namespace)
    x, y = namespace["position"]()
    return round(x, 9), round(y, 9), round(namespace["heading"](), 9), namespace["isdown"]()


def picture(source: str) -> np.ndarray:
    return render.render(run_program(source))


def test_start_state_and_moves() -> None:
    assert final_state("") == (0.0, 0.0, 0.0, True)
    # left/right take degrees; heading() answers in radians, as ReGAL's PyTurtle
    expected = (3.0, 2.0, round(np.pi / 4, 9), True)
    assert final_state("forward(3)\nleft(90)\nforward(2)\nright(45)") == expected
    segments = run_program("forward(3)\npenup()\nforward(1)\npendown()\nteleport(5, 5, 90)")
    np.testing.assert_allclose(segments, [[0, 0, 3, 0]])


def test_namespaces_are_fresh() -> None:
    first, second = dsl_namespace(), dsl_namespace()
    first["forward"](5)
    assert len(first[DRAWING_NAME]()) == 1 and len(second[DRAWING_NAME]()) == 0


EMBED_FORMS = {
    "callable": "def arm():\n    forward(4)\n    left(30)\n    penup()\nembed(arm)",
    "lambda": "embed(lambda: forward(4))",
    "string": 'n = 4\nembed("""forward(n)\nleft(30)\npenup()""", locals())',
    "context manager": "with saved_state():\n    forward(4)\n    left(30)\n    penup()",
    # ReGAL's exec-with-locals raised NameError: left here (the DSL names were not visible)
    "string inside a helper": (
        'def helper(n):\n    embed("""forward(n)\nleft(90)\npenup()""", locals())\nhelper(4)'
    ),
}


@pytest.mark.parametrize("form", EMBED_FORMS)
def test_embed_restores_position_heading_and_pen(form: str) -> None:
    source = "forward(1)\nleft(10)\n" + EMBED_FORMS[form] + "\nforward(1)"
    x, y, heading, down = final_state(source)
    assert heading == round(np.radians(10), 9) and down
    assert (x, y) == pytest.approx((1 + np.cos(np.radians(10)), np.sin(np.radians(10))))
    assert len(run_program(source)) == 3  # the embedded stroke was drawn


def test_embed_restores_after_an_exception() -> None:
    namespace = dsl_namespace()
    source = (
        "try:\n    with saved_state():\n        forward(5)\n        1 / 0\n"
        "except ZeroDivisionError:\n    pass"
    )
    exec(source, namespace)
    assert namespace["position"]() == (0.0, 0.0)


def test_embedded_names_land_where_regal_put_them() -> None:
    """ReGAL's exec(program, globals(), local_vars) wrote into local_vars: at module level
    the program's globals, after merging embed's own variables in."""
    namespace = dsl_namespace()
    source = (
        "x = 100\nn = 3\nforward(4)\nleft(90)\n"
        'embed("for i in range(n):\\n    forward(1)\\nlast = i", locals())\n'
        "forward(x)\n"  # x is now the turtle's x when embed was called: 4.0
        'd = {"n": 2}\nembed("k = n * 2", d)\n'
        'def helper():\n    embed("z = 1", locals())\nhelper()\n'
        "embed(\"embed('w = 7', locals())\", locals())\n"
        'embed("forward(0)", locals())\n'
    )
    exec(source, namespace)
    assert namespace["position"]() == pytest.approx((4.0, 4.0))  # forward(4.0) heading north
    # the last embed's own variables: the position it started from
    assert (namespace["i"], namespace["last"], namespace["x"], namespace["y"]) == (2, 2, 4.0, 4.0)
    assert namespace["theta"] == pytest.approx(np.pi / 2) and namespace["pen_was_down"] is True
    assert namespace["self"] is namespace["turtle"] and namespace["fxn"] == "teleport"
    assert namespace["program"] == "self.forward(0)"  # ReGAL's rewrite of a leading DSL call
    assert namespace["d"]["k"] == 4 and namespace["d"]["x"] == 4.0  # a dict gets them itself
    assert "z" not in namespace  # inside a function locals() is a copy
    assert namespace["w"] == 7  # nested: through the outer string's names


def test_the_headers_turtle_object() -> None:
    """ReGAL's header made ``turtle = PyTurtle()``: x, y, heading (radians), is_down."""
    source = (
        "turtle.forward(3)\nturtle.left(90)\nh = turtle.heading\nturtle.penup()\n"
        "turtle.heading = 0.0\nturtle.forward(1)\nturtle.is_down = True\nturtle.x = 10\n"
        "turtle.embed('forward(2)', locals())\n"
    )
    namespace = dsl_namespace()
    exec(source, namespace)
    assert namespace["h"] == pytest.approx(np.pi / 2)
    assert namespace["position"]() == (10.0, 0.0) and namespace["isdown"]()
    assert len(namespace[DRAWING_NAME]()) == 2  # the pen-up move drew nothing
    with pytest.raises(TypeError, match="heading"):
        exec("turtle.heading = 'north'", namespace)
    assert not hasattr(namespace["turtle"], "__dict__")  # our turtle only in closures


def test_string_embed_gets_no_escape_hatch() -> None:
    """Code text runs with the DSL and a few builtins, checked like a sandboxed program."""
    assert len(run_program('embed("forward(2)")')) == 1
    with pytest.raises(ImportError):
        run_program('embed("import os", {})')
    with pytest.raises(PermissionError, match="__bases__"):
        run_program('embed("().__class__.__bases__", {})')


def test_regal_program_runs_unchanged() -> None:
    regal = (
        'for i in range(4):\n    embed("""for j in range(4):\n    forward(2*i)\n    left(90.0)""",'
        " locals())"
    )
    ours = (
        "for j in range(4):\n    with saved_state():\n        for i in range(4):\n"
        "            forward(2 * j)\n            left(90)"
    )
    assert np.array_equal(picture(regal), picture(ours))


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="forward"):
        run_program("forward('3')")
    with pytest.raises(ValueError, match="finite"):
        run_program("left(float('nan'))")
    with pytest.raises(TypeError, match="embed"):
        run_program("embed(3)")


@pytest.mark.parametrize("loop", ["while True:\n    forward(1)", "while True:\n    penup()"])
def test_budget_stops_endless_loops(loop: str) -> None:
    with pytest.raises(BudgetExceeded, match="segment budget exceeded"):
        run_program(loop, max_commands=1000)


def test_budget_stays_exhausted_when_the_program_catches_it() -> None:
    source = "try:\n    while True:\n        forward(1)\nexcept RuntimeError:\n    pass\nforward(1)"
    with pytest.raises(BudgetExceeded):
        run_program(source, max_commands=100)


def test_render_is_deterministic_and_geometric() -> None:
    source = "for i in range(HALF_INF):\n    forward(EPS_DIST * 2)\n    left(EPS_ANGLE)"
    assert picture(source).tobytes() == picture(source).tobytes()
    # a line drawn in pieces covers the same pixels as one stroke
    assert np.array_equal(picture("forward(10)"), picture("forward(4)\nforward(6)"))
    image = picture("forward(10)")
    assert image.dtype == np.uint8 and image.shape == (render.RESOLUTION, render.RESOLUTION)
    assert set(np.unique(image)) == {render.INK, render.PAPER}


def test_render_orientation() -> None:
    half = render.RESOLUTION // 2
    rows, cols = np.nonzero(picture("left(90)\nforward(20)") == render.INK)
    assert rows.max() <= half and cols.min() >= half - 2  # up is up
    rows, cols = np.nonzero(picture("forward(20)") == render.INK)
    assert cols.max() > half + 90 and abs(rows.mean() - half) < 2  # east is right


def test_drawing_off_canvas_is_clipped_and_flagged() -> None:
    segments = run_program("forward(80)")
    assert render.out_of_canvas(segments)
    assert not render.out_of_canvas(run_program("forward(50)"))
    image = render.render(segments)
    assert image[:, -1].min() == render.INK  # drawn up to the border, nothing wraps around
    assert render.render(run_program("penup()\nforward(80)\npendown()\nforward(5)")).min() == 255


def test_judge_rule() -> None:
    target = picture("for i in range(4):\n    forward(4)\n    left(90)")
    verdict = judge.judge(target.copy(), target)
    assert verdict.correct and verdict.overlap == verdict.iou == 1.0
    blank = np.full_like(target, 255)
    assert judge.judge(blank, target) == judge.Verdict(False, 0.0, 0.0)
    assert judge.overlap(blank, blank) == 1.0
    # ReGAL's rule on gray images: equal pixels among the union of non-white pixels
    a = np.array([[255, 0, 100, 255]], dtype=np.uint8)
    b = np.array([[255, 0, 120, 0]], dtype=np.uint8)
    assert judge.overlap(a, b) == pytest.approx(1 / 3)
    assert judge.iou(a, b) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shapes"):
        judge.overlap(a, target)


def test_judge_threshold_is_configurable() -> None:
    target = picture("forward(20)")
    longer = picture("forward(20.5)")
    score = judge.judge(longer, target).overlap
    assert 0.9 < score < 1.0
    assert judge.judge(longer, target, threshold=score).correct
    assert not judge.judge(longer, target, threshold=1.0).correct


def test_side_by_side_panel() -> None:
    target = picture("forward(10)")
    panel = render.side_by_side(target, picture("left(90)\nforward(10)"))
    assert panel.shape == (render.RESOLUTION, 2 * render.RESOLUTION + 8, 3)
    assert panel.dtype == np.uint8
    assert render.side_by_side(target, None)[:, render.RESOLUTION + 8 :].min() == 255


def test_teleport_sets_the_heading_in_radians_as_regal() -> None:
    """ReGAL's teleport stores theta raw, in radians: teleport(0, 0, 90) then forward(10)
    heads 90 rad (not 90 degrees), ending near (-4.48, 8.94)."""
    x, y, heading, _ = final_state("teleport(0, 0, 90)\nforward(10)")
    assert (x, y) == pytest.approx((10 * np.cos(90), 10 * np.sin(90)))
    assert (x, y) == pytest.approx((-4.48, 8.94), abs=0.01)
    assert heading == 90.0
    # heading() round-trips through teleport, so saving and restoring a state is exact
    assert final_state("left(30)\nh = heading()\nleft(50)\nteleport(0, 0, h)")[2] == round(
        np.pi / 6, 9
    )


def test_locals_embed_at_module_level_and_nested() -> None:
    """embed(code, locals()) sees the caller's names, also from inside an embedded string."""
    source = (
        "size = 3\n"
        'embed("""for k in range(2):\n    embed(\'forward(size)\', locals())\n'
        '    left(90)""", locals())\n'
    )
    segments = run_program(source)
    # both strokes start at the origin: the inner embed restores the position each time
    np.testing.assert_allclose(segments[:, :2], 0.0, atol=1e-12)
    assert len(segments) == 2 and np.allclose(segments[1, 2:], [0.0, 3.0])


def test_sandbox_locals_refuses_frames_of_other_code() -> None:
    """Only code running with the owner's builtins may take a snapshot: a library frame
    (real builtins) calling it back would otherwise hand out the library's own names."""
    with pytest.raises(SandboxViolation, match="locals"):
        restricted_locals({})()
