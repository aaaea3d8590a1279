"""The machinery shared by the three teaching env kinds (open-ended, skill-list, skill-tree).

One episode: ``reset`` restores the student to its base weights and evaluates it on the
two halves of the frozen validation split; every ``step`` turns the action into training
examples (rejecting malformed ones, copies and near-copies of held-out items, with reasons),
trains the student on them, re-evaluates, and pays the change in accuracy on the *reward*
half ("validation"). The observation is built from the other half ("feedback") only, so a
teacher never sees an item the reward is measured on (``domain.VIEWS``). The held-out test
split is evaluated once, when the budget runs out, and only reported in ``info``. Subclasses
decide what the observation shows and how an action becomes examples.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from societygym import progress
from societygym.envs.dataenv import checkpoint
from societygym.envs.dataenv.actions import Parsed, as_items, parse_examples
from societygym.envs.dataenv.domain import FEEDBACK, Domain
from societygym.envs.dataenv.domains import make_domain
from societygym.envs.dataenv.plausible import sample_examples
from societygym.envs.dataenv.records import (
    Example,
    Graded,
    TaskItem,
    accuracy,
    accuracy_by_skill,
)
from societygym.envs.dataenv.trainer import TrainConfig
from societygym.envs.levels import check_choices, check_level, only_one
from societygym.spaces import UnicodeText

logger = logging.getLogger(__name__)

TRAINING_MODES = ("continue", "retrain")
# feedback_per_skill default: as many shown items as reward items per skill (the default
# 10 + 10 evaluates the 20 per skill a step evaluated before the halves existed)
AS_VALIDATION = -1
MAX_ANSWER_SHOWN = 200
DEFAULT_ITERATIONS, DEFAULT_EXAMPLES = 3, 300
# (share of the domain's skills taught, iterations, examples), easiest first: fewer skills
# share the default budget, then every skill gets a third of it
DIFFICULTY: tuple[tuple[float, int, int], ...] = (
    (0.0, DEFAULT_ITERATIONS, DEFAULT_EXAMPLES),  # 0.0: the first skill alone
    (0.5, DEFAULT_ITERATIONS, DEFAULT_EXAMPLES),
    (1.0, DEFAULT_ITERATIONS, DEFAULT_EXAMPLES),
    (1.0, 2, 100),
)
DIFFICULTY_LEVELS = (
    "the domain's first skill, 3 iterations x 300 examples",
    "the first half of its skills, 3 x 300",
    "every skill, 3 x 300 (the default's skills and budget)",
    "every skill, 2 iterations x 100 examples",
)


def first_skills(skills: Sequence[str], share: float) -> tuple[str, ...]:
    """The first ``share`` of ``skills`` (rounded up), at least one."""
    return tuple(skills[: max(1, math.ceil(len(skills) * share))])


def error_record(g: Graded, with_skill: bool) -> dict[str, str]:
    record = {
        "question": g.item.question,
        "student_answer": g.prediction.strip()[:MAX_ANSWER_SHOWN],
        "gold_answer": g.item.answer,
    }
    if with_skill:
        record["skill"] = g.item.skill
    if g.item.image is not None:
        record["image"] = g.item.image
    return record


def verification_counts(parsed: Parsed, failure: str) -> dict[str, Any]:
    """How many examples ran and passed, or ran and failed, before training. Examples that
    were rejected before running (malformed, held out) count in neither."""
    failed = sum(r["reason"].startswith(failure) for r in parsed.rejected)
    ran = len(parsed.accepted) + failed
    return {
        "passed": len(parsed.accepted),
        "failed": failed,
        "pass_rate": len(parsed.accepted) / ran if ran else None,
    }


def make_student(
    student: Any,
    finetune: str,
    train_config: dict | None,
    seed: int,
    domain: Domain | None = None,
    student_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """A student object from a spec string (the domain's own students first, then HF causal
    LMs, see ``resolve_model_dir``) or the object itself. ``student_kwargs`` go to
    ``HFStudent`` (e.g. ``eval_backend="vllm"``, ``lora_r``, ``eval_batch_size``)."""
    if not isinstance(student, str):
        if student_kwargs:
            raise TypeError("student_kwargs apply to a student built from a spec string")
        return student
    if domain is not None:
        own = domain.make_student(student, finetune, train_config, seed)
        if own is not None:
            if student_kwargs:
                raise TypeError(f"student_kwargs apply to HF causal LM students, not {student!r}")
            return own
    from societygym.envs.dataenv.students import HFStudent

    return HFStudent(
        student,
        finetune=finetune,
        train_config=TrainConfig(**(train_config or {})),
        init_seed=seed,
        **dict(student_kwargs or {}),
    )


class TeachingEnv(gym.Env):
    """Base class; see the kinds' docstrings for spaces, reward and info."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    sample_plausible_action = staticmethod(sample_examples)
    difficulty_levels = DIFFICULTY_LEVELS
    kind = "base"
    show_skills = False
    # what a None budget argument means without ``difficulty`` (None lets a level set them)
    budget_defaults = {"max_iterations": DEFAULT_ITERATIONS, "max_examples": DEFAULT_EXAMPLES}

    def __init__(
        self,
        domain: str | Domain = "math",
        domain_kwargs: Mapping[str, Any] | None = None,
        student: Any = "embedded",
        finetune: str = "lora",
        training: str = "continue",
        train_config: dict[str, Any] | None = None,
        student_kwargs: Mapping[str, Any] | None = None,
        max_iterations: int | None = None,
        max_examples: int | None = None,
        max_examples_per_step: int | None = None,
        val_per_skill: int | None = 10,
        feedback_per_skill: int | None = AS_VALIDATION,
        test_per_skill: int | None = 20,
        data_cost: float = 0.0,
        max_errors_shown: int = 20,
        run_dir: str | Path | None = None,
        student_seed: int = 0,
        skill_discovery: Any = None,
        max_action_length: int = 1_000_000,
        max_text_length: int = 200_000,
        render_mode: str | None = None,
        skills: Sequence[str] | None = None,
        difficulty: int | None = None,
    ) -> None:
        if training not in TRAINING_MODES:
            raise ValueError(f"training must be one of {TRAINING_MODES}, got {training!r}")
        only_one(
            "DataEnv",
            difficulty=difficulty,
            skills=skills,
            max_iterations=max_iterations,
            max_examples=max_examples,
        )
        level = check_level(difficulty, DIFFICULTY_LEVELS, "DataEnv")
        if max_iterations is None:
            max_iterations = self.budget_defaults["max_iterations"]
        if max_examples is None:
            max_examples = self.budget_defaults["max_examples"]
        if max_iterations < 1 or max_examples < 1:
            raise ValueError("max_iterations and max_examples must be >= 1")
        if domain_kwargs is not None and not isinstance(domain_kwargs, Mapping):
            raise TypeError(f"domain_kwargs must be a mapping, got {type(domain_kwargs).__name__}")
        if skill_discovery is not None and (skills is not None or level is not None):
            raise ValueError(
                "DataEnv: skills and difficulty choose gold skills; skill_discovery relabels them"
            )
        self.domain = make_domain(domain, **(domain_kwargs or {}))
        if level is not None:
            share, max_iterations, max_examples = DIFFICULTY[level - 1]
            skills = first_skills(self.domain.skills, share)
        taught = check_choices("skills", skills, self.domain.skills, "DataEnv")
        self.student = make_student(
            student, finetune, train_config, student_seed, self.domain, student_kwargs
        )
        self.training = training
        self.max_iterations = int(max_iterations)
        self.max_examples = int(max_examples)
        self.max_examples_per_step = int(max_examples_per_step or max_examples)
        if feedback_per_skill == AS_VALIDATION:
            feedback_per_skill = val_per_skill
        self.validation = self.domain.split("validation", val_per_skill)
        self.feedback = self.domain.split(FEEDBACK, feedback_per_skill)
        self.test_items = self.domain.split("test", test_per_skill)
        if taught is not None:  # evaluate (and show) only the taught skills
            self.validation, self.feedback, self.test_items = (
                [i for i in items if i.skill in taught]
                for items in (self.validation, self.feedback, self.test_items)
            )
        if skill_discovery is not None:  # the same items, labeled by an LLM
            from societygym.envs.dataenv.skills import discover_skills
            from societygym.llm.cache import cache_dir

            self.domain = discover_skills(
                self.domain,
                skill_discovery,
                self.validation + self.feedback + self.test_items,
                cache_dir=cache_dir() / "skill-discovery",
            )
            self.validation = self.domain.relabel(self.validation)
            self.feedback = self.domain.relabel(self.feedback)
            self.test_items = self.domain.relabel(self.test_items)
        self.data_cost = float(data_cost)
        self.max_errors_shown = int(max_errors_shown)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.max_action_length = int(max_action_length)
        self.render_mode = render_mode
        self.skills = taught or self.domain.skills
        self.observation_space = spaces.Dict(self._observation_spaces(max_text_length))
        self.action_space = UnicodeText(self.max_action_length)
        self._running = False
        self._observation: dict[str, Any] = {}

    # --- spaces and observations -------------------------------------------------------------

    def _observation_spaces(self, max_text_length: int) -> dict[str, spaces.Space]:
        top = max(self.max_iterations, self.max_examples)
        return {
            "text": UnicodeText(max_text_length),
            "errors": UnicodeText(max_text_length),
            "accuracy": spaces.Box(0.0, 1.0, (1,), np.float32),
            # [iterations done, iterations left, examples left]
            "budget": spaces.Box(0, top, (3,), np.int64),
            **self.domain.observation_spaces(self.max_errors_shown),
        }

    def _extra_observation(self) -> dict[str, Any]:
        """Fields a kind adds to the observation (JSON-able values)."""
        return {}

    def _render_text(self, obs: dict[str, Any]) -> str:
        raise NotImplementedError

    def _shown_errors(self) -> list[Graded]:
        wrong = [g for g in self._feedback if not g.correct]
        shown = min(len(wrong), self.max_errors_shown)
        picked = self.np_random.choice(len(wrong), size=shown, replace=False) if shown else []
        return [wrong[i] for i in picked]

    def _build_observation(self) -> dict[str, Any]:
        shown = self._shown_errors()
        errors = [error_record(g, self.show_skills) for g in shown]
        obs = {
            "accuracy": [accuracy(self._feedback)],
            "budget": [self._iteration, self.max_iterations - self._iteration, self._examples_left],
            "errors": json.dumps(errors, ensure_ascii=False),
            **self.domain.observation_fields(shown, self.max_errors_shown),
            **self._extra_observation(),
        }
        obs["text"] = self._render_text({**obs, "errors": errors})
        return obs

    def _as_observation(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A fresh observation object in the space's types and key order."""
        out = {}
        for key, space in self.observation_space.spaces.items():
            value = stored[key]
            out[key] = (
                np.array(value, dtype=space.dtype) if isinstance(space, spaces.Box) else value
            )
        return out

    # --- episode -----------------------------------------------------------------------------

    @property
    def _examples_left(self) -> int:
        return self.max_examples - self._used

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode; ``options={"resume": True}`` continues the last one saved in
        ``run_dir`` from its last completed iteration (a fresh episode when there is none)."""
        super().reset(seed=seed)
        options = options or {}
        if options.get("resume") and self.run_dir is not None:
            folder = checkpoint.latest(self.run_dir)
            if folder is not None:
                return self._resume(folder)
        self.student.reset()
        self._iteration, self._used = 0, 0
        self._data: list[list[Example]] = []
        self._history: list[dict[str, Any]] = []
        self._extra_reset()
        self._graded, self._feedback = self._evaluate_validation()
        self._test_report: dict[str, Any] | None = None
        self._running = True
        self._history.append(self._summary(reward=0.0, train=None))
        self._observation = self._build_observation()
        if self.run_dir is not None:
            checkpoint.clear(self.run_dir)
            self._save()
        info = {
            "iteration": 0,
            "validation": self._history[-1]["validation"],
            "feedback": self._history[-1]["feedback"],
            "resumed": False,
        }
        self._log_progress(self._history[-1])
        return self._as_observation(self._observation), info

    def step(self, action: Any):
        if not self._running:
            raise RuntimeError("the episode is over (or never started): call reset()")
        budget = min(self._examples_left, self.max_examples_per_step)
        parsed, info = self._examples_for(action, budget)
        before = accuracy(self._graded)
        train_stats = None
        if parsed.accepted:
            train_stats = self._train(parsed.accepted)
            self._graded, self._feedback = self._evaluate_validation()
        self._data.append(parsed.accepted)
        self._iteration += 1
        self._used += len(parsed.accepted)
        reward = accuracy(self._graded) - before - self.data_cost * len(parsed.accepted)
        truncated = self._iteration >= self.max_iterations or self._examples_left <= 0
        self._history.append(self._summary(reward, train_stats))
        info.update(
            iteration=self._iteration,
            accepted=len(parsed.accepted),
            rejected=parsed.rejected,
            validation=self._history[-1]["validation"],
            feedback=self._history[-1]["feedback"],
            train=train_stats.to_dict() if train_stats else None,
        )
        if parsed.error:
            info["error"] = parsed.error
        if self.domain.verification_failure is not None:
            info["verification"] = verification_counts(parsed, self.domain.verification_failure)
        if truncated:
            self._test_report = self._score(self._evaluate(self.test_items))
            self._running = False
            info["test"] = self._test_report
            info["history"] = [h["validation"]["accuracy"] for h in self._history]
        self._observation = self._build_observation()
        if self.run_dir is not None:
            self._save()
        self._log_progress(self._history[-1], len(parsed.rejected))
        return self._as_observation(self._observation), float(reward), False, truncated, info

    def _examples_for(self, action: Any, budget: int) -> tuple[Parsed, dict[str, Any]]:
        """The examples an action asks to train on, and info entries about them."""
        try:
            items = as_items(action, self.max_action_length)
        except ValueError as error:  # unreadable text: the iteration is spent, nothing trained
            return Parsed(error=str(error)), {}
        return parse_examples(items, self.domain, budget, allow_skill=self.show_skills), {}

    def _train(self, examples: Sequence[Example]):
        seed = int(self.np_random.integers(2**31))
        if self.training == "retrain":  # the original's behaviour: base model, all data so far
            self.student.reset()
            examples = [e for step in self._data for e in step] + list(examples)
        return self.student.train([self.domain.training_pair(e) for e in examples], seed=seed)

    def _evaluate_validation(self) -> tuple[list[Graded], list[Graded]]:
        """The reward half and the feedback half graded, in one batch."""
        graded = self._evaluate(self.validation + self.feedback)
        return graded[: len(self.validation)], graded[len(self.validation) :]

    def _evaluate(self, items: Sequence[TaskItem]) -> list[Graded]:
        """The student's greedy replies to ``items``, graded by the domain."""
        inputs = [self.domain.student_input(i) for i in items]
        with progress.stage(len(items), "student answering", "item") as bar:
            replies = self.student.answer(inputs, self.domain.max_new_tokens)
            progress.advance_to(bar, len(items))  # a student that reports no answers
        verdicts = self.domain.grade(replies, items)
        return [Graded(i, r, v) for i, r, v in zip(items, replies, verdicts, strict=True)]

    def _score(self, graded: list[Graded]) -> dict[str, Any]:
        return {
            "accuracy": accuracy(graded),
            "per_skill": accuracy_by_skill(graded, self.skills),
            "count": len(graded),
            "metrics": self.domain.report(graded),
        }

    def _summary(self, reward: float, train: Any) -> dict[str, Any]:
        return {
            "iteration": self._iteration,
            "examples_used": self._used,
            "reward": reward,
            "validation": self._score(self._graded),
            "feedback": self._score(self._feedback),
            "train": train.to_dict() if train is not None else None,
        }

    def _log_progress(self, summary: dict[str, Any], rejected: int = 0) -> None:
        """One line per iteration (``societygym run`` shows these): loss, accuracy per skill."""
        if not logger.isEnabledFor(logging.INFO):
            return
        validation, train = summary["validation"], summary["train"]
        parts = [f"{self.domain.name} {self.kind} iteration {summary['iteration']}"]
        if summary["iteration"]:
            parts.append(f"reward {summary['reward']:+.3f}")
            parts.append(f"{(train or {}).get('examples', 0)} examples ({rejected} rejected)")
        if train and train.get("first_loss") is not None:
            parts.append(
                f"loss {train['first_loss']:.3f}->{train['last_loss']:.3f} "
                f"in {train['seconds']:.1f} s"
            )
        parts.append(f"val acc {validation['accuracy']:.3f}")
        skills = " ".join(f"{k}={v:.2f}" for k, v in validation["per_skill"].items())
        logger.info("%s | %s", ", ".join(parts), skills)

    @staticmethod
    def summarize(
        infos: Sequence[Mapping[str, Any]],
        out_dir: Any = None,
        step_infos: Sequence[Sequence[Mapping[str, Any]]] | None = None,
    ) -> dict[str, float]:
        """Mean initial/final validation and final test accuracy over finished episodes;
        writes ``learning_curve.png`` into ``out_dir``, with a panel per skill when
        ``step_infos`` (each episode's infos, reset first) give its per-skill accuracies."""
        histories = [list(i["history"]) for i in infos if i.get("history")]
        tests = [i["test"]["accuracy"] for i in infos if i.get("test")]
        report: dict[str, float] = {"finished_episodes": float(len(histories))}
        if histories:
            report["val_accuracy_start"] = float(np.mean([h[0] for h in histories]))
            report["val_accuracy_end"] = float(np.mean([h[-1] for h in histories]))
            report["val_gain"] = report["val_accuracy_end"] - report["val_accuracy_start"]
        if tests:
            report["test_accuracy"] = float(np.mean(tests))
        if out_dir is not None and histories:
            from societygym.envs.dataenv.learning_curve import save_learning_curves, skill_curves

            skills = None
            if step_infos is not None:
                pairs = zip(infos, step_infos, strict=True)
                skills = skill_curves([s for i, s in pairs if i.get("history")], "episodes")
            path = Path(out_dir) / "learning_curve.png"
            save_learning_curves({"episodes": histories}, path, skills=skills)
        return report

    # --- kind-specific state (skill tree) ----------------------------------------------------

    def _extra_reset(self) -> None:
        """Reset a kind's own episode state."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` saved."""

    # --- checkpoints -------------------------------------------------------------------------

    def _save(self) -> None:
        assert self.run_dir is not None
        state = {
            "kind": self.kind,
            "iteration": self._iteration,
            "used": self._used,
            "running": self._running,
            "data": [[e.to_dict() for e in step] for step in self._data],
            "history": self._history,
            "graded": [[g.item.id, g.prediction, g.correct] for g in self._graded],
            "feedback": [[g.item.id, g.prediction, g.correct] for g in self._feedback],
            "test": self._test_report,
            "rng": self.np_random.bit_generator.state,
            "observation": self._observation,
            "extra": self._extra_state(),
        }
        checkpoint.save(self.run_dir, self._iteration, state, self.student.save)

    def _resume(self, folder: Path):
        state = checkpoint.load_state(folder)
        if state["kind"] != self.kind:
            raise ValueError(f"{folder} holds a {state['kind']} episode, not {self.kind}")
        by_id = {item.id: item for item in self.validation + self.feedback}
        self._graded = [Graded(by_id[i], p, c) for i, p, c in state["graded"]]
        self._feedback = [Graded(by_id[i], p, c) for i, p, c in state["feedback"]]
        self.student.load(folder)
        self._iteration, self._used = state["iteration"], state["used"]
        self._running = state["running"]
        self._data = [[Example(**e) for e in step] for step in state["data"]]
        self._history = state["history"]
        self._test_report = state["test"]
        self._np_random = np.random.Generator(np.random.PCG64())
        self._np_random.bit_generator.state = state["rng"]
        self._load_extra_state(state["extra"])
        self._observation = state["observation"]
        info = {
            "iteration": self._iteration,
            "validation": self._history[-1]["validation"],
            "feedback": self._history[-1]["feedback"],
            "resumed": True,
        }
        return self._as_observation(self._observation), info

    # --- rendering ---------------------------------------------------------------------------

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return self._observation.get("text", "")

    @staticmethod
    def parse_llm_action(text: str) -> str:
        """LLM replies go to the env as text; the env reads the JSON inside."""
        return text
