"""ReGAL-Logo-v0: write a turtle program that draws what a LOGO query asks for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from societygym.envs.instances import pick_index
from societygym.envs.levels import check_choices, check_level
from societygym.envs.programs.helpers import checked_helpers, describe, with_helpers
from societygym.envs.programs.logo import judge
from societygym.envs.programs.logo import render as raster
from societygym.envs.programs.logo.dsl import (
    DRAWING_NAME,
    DSL_REFERENCE,
    MAX_COMMANDS,
    BudgetExceeded,
)
from societygym.envs.programs.logo.tasks import (
    DIFFICULTY_LEVELS,
    FAMILIES,
    LogoTask,
    load_logo_tasks,
    select,
)
from societygym.envs.programs.plausible import sample_logo_program
from societygym.spaces import UnicodeText, text_and_image, text_and_image_observation

NAMESPACE_SPEC = "societygym.envs.programs.logo.dsl:dsl_namespace"
MAX_ERROR_CHARS = 2000
ASK = "Write a Python program that draws: "
GUIDE = f"""
The image shows the target drawing. Use the turtle DSL below; the program is judged by the
picture it draws.

DSL:
{DSL_REFERENCE}"""
FENCED = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_program(reply: str) -> str:
    """The first fenced code block of an LLM reply, or the whole reply when it has none."""
    match = FENCED.search(reply)
    return match.group(1) if match else reply


class ReGALLogoEnv(gym.Env[dict, str]):
    """Draw the picture a templated LOGO query describes, by writing a turtle program.

    One task per episode (ReGAL's LOGO setting). The program runs in the sandbox with only
    the DSL, ``math`` and safe builtins, then its drawing is rasterized and compared with
    the target rendered from the task's reference program.

    ## Observation
    ``Dict(text=UnicodeText, image=Box(uint8, resolution x resolution x 3))``: the query,
    the DSL reference and the available helpers, and the target drawing (black on white).
    After the step: the verdict as text and the program's drawing as the image.

    ## Action
    The program text, any ``str`` of at most ``max_program_length`` characters. A non-``str``
    action raises ``TypeError``; a longer one is not run (reward 0, ``info["error"]``).

    ## Reward
    1 if the judge accepts the drawing, else 0 (also for programs that fail). The judge is
    ReGAL's: among the pixels inked in either image, the fraction inked in both (on our
    binary renders, the IoU of the ink) must reach ``threshold`` (0.995: see ``judge``).

    ## Termination
    After one step.

    ## Info
    At reset: ``task_id``, ``family``, ``split``, ``query``. After the step also:
    ``correct``, ``overlap`` (the judge score), ``iou``, ``clipped`` (it drew outside
    [-50, 50]², which is cut off), ``error``
    (None, or why the program failed) and ``error_type`` (None, ``"syntax"``, ``"exception"``,
    ``"forbidden"``, ``"timeout"``, ``"budget"`` for more than the DSL's command budget,
    ``"too_long"`` or another sandbox error type). Plain Python values, so an info is
    JSON; with ``info_images=True`` also ``rendered`` (the program's drawing, uint8
    grayscale), which the step's observation image and ``render()`` show anyway.

    ## Arguments
    ``split``: ``"train"``, ``"dev"``, ``"test"`` (default) or ``"all"`` of the generated
    tasks, or ``tasks``: explicit :class:`LogoTask` s (e.g. ``load_regal_jsonl(path)``; their
    reference programs run in this process, so load only files you trust). ``helpers``:
    source snippets of helper functions (a code bank), listed in the observation and run
    before the program. ``threshold``, ``resolution``, ``max_program_length``,
    ``timeout_s`` (per program), ``sandbox`` (default: the shared pool). ``families``: keep
    only these template families (``tasks.FAMILIES``). ``difficulty``: 1-4
    (``difficulty_levels``), tasks that draw one shape, 2-3, 4-6 or 7 or more parts
    (``tasks.parts_of``); None (default) keeps them all. ``info_images``: put the drawing in
    ``info["rendered"]`` (off by default: 256 KiB a step in every vector env). Address one task with
    ``reset(options={"index": i})``.

    ## Version history
    v0: first release.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 1}
    sample_plausible_action = staticmethod(sample_logo_program)
    difficulty_levels: ClassVar[tuple[str, ...]] = DIFFICULTY_LEVELS
    agent_prompt = "{observation}\n\nReply with the Python program only, in a ```python block."
    parse_llm_action = staticmethod(extract_program)

    def __init__(
        self,
        split: str = "test",
        tasks: Sequence[LogoTask] | None = None,
        helpers: Sequence[str] = (),
        threshold: float = judge.THRESHOLD,
        resolution: int = raster.RESOLUTION,
        max_program_length: int = 20_000,
        timeout_s: float = 5.0,
        sandbox: Any = None,
        render_mode: str | None = None,
        isolation: str = "auto",
        families: Sequence[str] | None = None,
        difficulty: int | None = None,
        info_images: bool = False,
    ) -> None:
        pool = list(tasks) if tasks is not None else load_logo_tasks(split)
        level = check_level(difficulty, DIFFICULTY_LEVELS, "ReGAL-Logo")
        known = FAMILIES if tasks is None else tuple(dict.fromkeys(t.family for t in pool))
        self.tasks = select(pool, check_choices("families", families, known, "ReGAL-Logo"), level)
        if not self.tasks:
            raise ValueError("no LOGO tasks: the task list (with families/difficulty) is empty")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unsupported render_mode {render_mode!r}; use 'rgb_array' or None")
        self.helpers = tuple(_compiling(h) for h in checked_helpers(helpers))
        self.threshold = float(threshold)
        self.resolution = int(resolution)
        self.timeout_s = float(timeout_s)
        self.isolation = isolation  # the sandbox's kernel layers: "auto" or "required"
        self.render_mode = render_mode
        self.info_images = bool(info_images)
        self._sandbox = sandbox
        self._policy = None
        self._guide = describe(GUIDE, self.helpers)
        longest = max(len(t.query) for t in self.tasks)
        text_length = len(ASK) + len(self._guide) + max(longest, MAX_ERROR_CHARS + 200)
        self.observation_space = text_and_image(text_length, (self.resolution, self.resolution, 3))
        self.action_space = UnicodeText(max_program_length)
        self._task: LogoTask | None = None
        self._target: np.ndarray | None = None
        self._drawing: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        index = pick_index(self.np_random, len(self.tasks), options)
        self._task = self.tasks[index]
        self._target = raster.render_program(self._task.program, self.resolution)
        self._drawing = None
        text = f"{ASK}{self._task.query}{self._guide}"
        return text_and_image_observation(text, raster.to_rgb(self._target)), self._task_info()

    def step(self, action: str):
        if self._task is None or self._target is None:
            raise RuntimeError("call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"the action is the program text, a str; got {type(action)}")
        info = self._task_info()
        if self.action_space.contains(action):
            segments, error_type, error = self._run(action)
        else:
            segments, error_type = None, "too_long"
            error = f"program of {len(action)} characters exceeds the limit of "
            error += f"{self.action_space.max_length}"
        if segments is None:
            drawing = np.full_like(self._target, raster.PAPER)
        else:
            drawing = raster.render(segments, self.resolution)
        verdict = judge.judge(drawing, self._target, self.threshold)
        info.update(
            correct=verdict.correct,
            overlap=verdict.overlap,
            iou=verdict.iou,
            clipped=bool(segments is not None and raster.out_of_canvas(segments)),
            error=error,
            error_type=error_type,
        )
        if self.info_images:
            info["rendered"] = drawing
        self._task = None
        self._drawing = drawing
        text = self._verdict_text(info)
        observation = text_and_image_observation(text, raster.to_rgb(drawing))
        return observation, float(verdict.correct), True, False, info

    def _run(self, program: str) -> tuple[np.ndarray | None, str | None, str | None]:
        """Segments drawn by the helpers and the program in the sandbox, or why it failed."""
        from societygym.sandbox import Policy, get_sandbox

        if self._policy is None:
            self._policy = Policy.dsl(
                NAMESPACE_SPEC,
                cpu_seconds=self.timeout_s,
                wall_seconds=self.timeout_s,
                isolation=self.isolation,
            )
        sandbox = self._sandbox if self._sandbox is not None else get_sandbox()
        source = with_helpers(program, self.helpers)
        result = sandbox.run(source, entry=DRAWING_NAME, policy=self._policy)
        if not result.ok:
            kind = "budget" if f"{BudgetExceeded.__name__}:" in result.error else result.error_type
            return None, kind, result.error[-MAX_ERROR_CHARS:]
        try:
            return _as_segments(result.value), None, None
        except ValueError as error:
            return None, "bad_value", str(error)

    def _task_info(self) -> dict[str, Any]:
        task = self._task
        assert task is not None
        return {"task_id": task.id, "family": task.family, "split": task.split, "query": task.query}

    def _verdict_text(self, info: dict[str, Any]) -> str:
        if info["error"] is not None:
            return f"The program failed ({info['error_type']}):\n{info['error']}"
        verdict = "Correct" if info["correct"] else "Wrong"
        clipped = " Part of it lies outside the canvas." if info["clipped"] else ""
        return (
            f"{verdict}: {info['overlap']:.3f} of the inked pixels match the target "
            f"({self.threshold:g} needed).{clipped}"
        )

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._target is None:
            return None
        return raster.side_by_side(self._target, self._drawing)


def _as_segments(value: Any) -> np.ndarray:
    """The sandbox's value as an (n, 4) array of finite coordinates."""
    try:
        segments = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the drawing is not a list of segments: {error}") from None
    if segments.ndim != 2 or segments.shape[1] != 4 or not np.isfinite(segments).all():
        raise ValueError(f"the drawing is not an (n, 4) array of finite numbers: {segments.shape}")
    if len(segments) > MAX_COMMANDS:  # more than the DSL can draw: not worth rasterizing
        raise ValueError(f"the drawing has {len(segments):,} segments, over {MAX_COMMANDS:,}")
    return segments


def _compiling(source: str) -> str:
    """A helper must parse and obey the sandbox's rules, or every program would fail."""
    from societygym.sandbox.checks import check_source

    try:
        check_source(source, filename="<helper>")
    except (SyntaxError, PermissionError) as error:
        raise ValueError(f"helper does not compile in the sandbox: {error}") from error
    return source
