from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import societygym
from societygym.registry import ENTRIES, entry
from societygym.spaces import UnicodeText, text_and_image, text_and_image_observation


def test_list_envs_matches_registry_entries() -> None:
    assert societygym.list_envs() == [e.id for e in ENTRIES]
    assert "Trivia-Calibration-v0" in societygym.list_envs(multi_agent=False)
    assert set(societygym.list_envs(True)).isdisjoint(societygym.list_envs(False))


def test_every_env_class_is_alone_in_a_module_named_for_its_kind() -> None:
    """The README's rule: one env class per ``<kind>_env.py`` module."""
    import pettingzoo

    for module_name in {e.entry_point.partition(":")[0] for e in ENTRIES}:
        assert module_name.rsplit(".", 1)[1].endswith("_env"), module_name
        module = importlib.import_module(module_name)
        envs = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and obj.__module__ == module_name
            and issubclass(obj, (gym.Env, pettingzoo.ParallelEnv))
        ]
        assert len(envs) == 1, (module_name, envs)


def test_unknown_id_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="societygym list"):
        entry("Nope-v0")


def test_import_is_light_and_registers_ids() -> None:
    code = (
        "import sys, gymnasium as gym, societygym\n"
        "heavy = [m for m in ('torch', 'transformers', 'diffusers', 'datasets') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert 'Trivia-Calibration-v0' in gym.registry\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_make_without_prior_import() -> None:
    code = "import gymnasium as gym; gym.make('societygym:Trivia-Calibration-v0').reset(seed=0)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unicode_text_contains_any_string_up_to_max_length() -> None:
    space = UnicodeText(20)
    assert space.contains("héllo wörld 🌍, ok?")
    assert space.contains("")
    assert not space.contains("x" * 21)
    assert not space.contains(b"bytes")
    assert not UnicodeText(5, min_length=2).contains("a")
    # gymnasium's own Text rejects the same sentence: the reason UnicodeText exists
    assert not gym.spaces.Text(20).contains("héllo wörld")


def test_unicode_text_samples_are_seeded_and_inside() -> None:
    first = [UnicodeText(50, seed=3).sample() for _ in range(2)]
    assert first[0] == first[1]
    space = UnicodeText(50, seed=4)
    samples = [space.sample() for _ in range(50)]
    assert all(space.contains(s) for s in samples)
    assert any(" " in s for s in samples)


def test_multimodal_space_and_observation() -> None:
    space = text_and_image(100, (8, 8, 3))
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    observation = text_and_image_observation("a red square", image)
    assert space.contains(observation)
    assert observation["image"] is not image  # fresh objects on every call


def _limit_default(env_entry) -> int:
    module, _, name = env_entry.entry_point.partition(":")
    env_class = getattr(importlib.import_module(module), name)
    # subclasses pass **kwargs on: the default is where the argument is declared
    for cls in env_class.__mro__:
        parameter = inspect.signature(cls.__init__).parameters.get(env_entry.step_limit_kwarg)
        if parameter is not None and parameter.default is not None:
            return parameter.default
        if parameter is not None:  # None: the env's stated default unless a difficulty sets it
            return env_class.budget_defaults[env_entry.step_limit_kwarg]
    raise AssertionError(f"{env_entry.id} has no argument {env_entry.step_limit_kwarg}")


def test_specs_declare_the_envs_own_step_limits() -> None:
    limited = [e for e in ENTRIES if e.max_episode_steps is not None]
    assert {"TextCraft-v0", "DataEnv-Math-v0", "DataEnv-VQA-SkillTree-v0"} <= {
        e.id for e in limited
    }
    for env_entry in limited:
        assert gym.registry[env_entry.id].max_episode_steps == env_entry.max_episode_steps
        # the spec states the limit the env applies by itself, not a second one
        assert _limit_default(env_entry) == env_entry.max_episode_steps, env_entry.id


def _steps_until_truncated(env: gym.Env) -> int:
    env.reset(seed=0)
    for step in range(1, 1000):
        _, _, terminated, truncated, _ = env.step("inventory")
        assert not terminated
        if truncated:
            return step
    raise AssertionError("never truncated")


def test_time_limit_and_the_envs_limit_agree() -> None:
    assert _steps_until_truncated(gym.make("TextCraft-v0")) == 40
    # societygym.make moves the TimeLimit with the env's own argument
    assert _steps_until_truncated(societygym.make("TextCraft-v0", max_steps=45)) == 45
    assert _steps_until_truncated(societygym.make("TextCraft-v0", max_steps=5)) == 5
