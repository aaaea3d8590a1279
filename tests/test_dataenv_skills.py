"""Skill discovery (label, group, map, cache), the relabeled domain in an env, learning
curves, episode summaries and the per-iteration progress lines."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from PIL import Image

from societygym.envs.dataenv.domains import make_domain
from societygym.envs.dataenv.learning_curve import learning_curve_figure, save_learning_curves
from societygym.envs.dataenv.skill_list_env import SkillListEnv
from societygym.envs.dataenv.skills import (
    OTHER,
    DiscoveredSkills,
    LLMSkillDiscovery,
    assign_names,
    discover_skills,
)
from societygym.llm.base import Generation


class KeywordLLM:
    """A test double standing in for an LLM: names a question's skill from a keyword, and
    groups skill names by their first word. Counts the prompts it was asked."""

    name = "keyword-double"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def generate(self, prompts, max_tokens=64, **kwargs):
        out = []
        for prompt in prompts:
            text = prompt[-1]["content"]
            self.prompts.append(text)
            if text.startswith("Group"):
                names = [ln[2:] for ln in text.splitlines() if ln.startswith("- ")]
                groups: dict[str, list[str]] = {}
                for name in names:
                    groups.setdefault(f"{name.split()[0]} skills", []).append(name)
                reply = json.dumps(groups)
            else:
                question = text.split("Question:", 1)[1].lower()
                reply = next(
                    (
                        f"Skill: {k} problems"
                        for k in ("even", "odd", "sum", "larger", "gcd")
                        if k in question
                    ),
                    "general arithmetic",
                )
            out.append([Generation(reply)])
        return out


def tiny_env(**kwargs) -> SkillListEnv:
    """A one-iteration skill-list env with the tiny student and one item per skill."""
    settings = dict(
        student="tiny",
        max_iterations=1,
        max_examples=4,
        val_per_skill=1,
        test_per_skill=1,
        train_config={"epochs": 1},
    )
    return SkillListEnv(**{**settings, **kwargs})


def test_names_are_cleaned_and_grouped_with_fallbacks() -> None:
    reply = 'Here you go: {"Number Sense": ["parity checks"], "sums": ["adding numbers"]}'
    groups = assign_names(["parity checks", "adding numbers", "numbers sense drill", "zzz"], reply)
    # "numbers sense drill" was not listed but shares "sense" with the category's name
    assert groups["number sense"] == ["parity checks", "numbers sense drill"]
    assert groups["sums"] == ["adding numbers"]
    assert groups[OTHER] == ["zzz"]
    assert assign_names(["a b"], "not json at all") == {OTHER: ["a b"]}


def test_discovery_labels_groups_maps_and_caches(tmp_path) -> None:
    domain = make_domain("math")
    items = domain.split("validation", 3)
    llm = KeywordLLM()
    found = LLMSkillDiscovery(llm, max_categories=3, cache_dir=tmp_path).discover(items)
    assert set(found.assignment) == {i.id for i in items}
    assert all(found.assignment[i] in found.categories for i in found.assignment)
    asked = len(llm.prompts)
    assert asked == len(items) + 1  # one label per question, one grouping
    again = LLMSkillDiscovery(llm, max_categories=3, cache_dir=tmp_path).discover(items)
    assert len(llm.prompts) == asked  # every reply came from the cache
    assert again.assignment == found.assignment


def test_discovered_domain_drives_a_skill_list_env(tmp_path) -> None:
    base = make_domain("math")
    items = base.split("validation", 2) + base.split("test", 2)
    domain = discover_skills(base, KeywordLLM(), items, cache_dir=tmp_path, max_categories=4)
    assert isinstance(domain, DiscoveredSkills)
    assert len(domain.skills) >= 2  # the math items span several keyword skills
    relabeled = domain.relabel(items)
    assert [i.id for i in relabeled] == [i.id for i in items]
    assert {i.skill for i in relabeled} <= set(domain.skills)
    skill = domain.skills[0]
    examples = domain.generate(skill, 6, np.random.default_rng(0))
    assert len(examples) == 6 and all(e.skill == skill for e in examples)
    assert all(domain.verify(e) is not False for e in examples)
    with pytest.raises(ValueError, match="no validation items"):
        domain.generate("nonexistent", 2, np.random.default_rng(0))

    env = tiny_env(domain=domain, max_examples=8)
    assert {i.skill for i in env.validation} <= set(domain.skills) | {OTHER}
    obs, _ = env.reset(seed=0)
    assert obs["skill_accuracy"].shape == (len(domain.skills),)
    _, _, _, truncated, info = env.step([{**e.to_dict()} for e in examples[:4]])
    assert truncated and info["accepted"] == 4 and set(info["test"]["per_skill"]) >= {skill}


def test_env_discovers_skills_with_a_real_llm(tmp_path, monkeypatch) -> None:
    """The real path: the env's ``skill_discovery`` with the tiny random LLM (its labels are
    noise, so only the plumbing is checked: every item gets a skill the env knows)."""
    monkeypatch.setenv("SOCIETYGYM_CACHE", str(tmp_path))
    from societygym.llm import tiny_llm_dir

    tiny_llm_dir(0)  # built in the temporary cache
    env = tiny_env(skill_discovery="tiny")
    assert isinstance(env.domain, DiscoveredSkills)
    assert {i.skill for i in env.validation + env.test_items} <= set(env.skills)
    assert any((tmp_path / "skill-discovery").iterdir())
    obs, _ = env.reset(seed=0)
    assert obs["skill_accuracy"].shape == (len(env.skills),)


def test_learning_curve_png(tmp_path) -> None:
    path = save_learning_curves(
        {"no-state": [[0.1, 0.2, 0.25], [0.1, 0.15]], "skill-list": [[0.1, 0.3, 0.4]]},
        tmp_path / "curve.png",
    )
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 10  # drawn, not blank


def test_learning_curve_figure_panels_ticks_and_legend() -> None:
    same = [[0.1, 0.2, 0.3]]
    figure = learning_curve_figure(
        {"a": same, "b": same}, skills={"parity": {"a": same, "b": same}, "gcd": {"a": same}}
    )
    panels = [a for a in figure.axes if a.get_visible()]
    assert [a.get_title() for a in panels] == ["overall", "gcd", "parity"]  # one per skill
    overall = panels[0]
    assert overall.get_ylabel() == "validation accuracy"
    assert overall.get_xlabel() == "teaching iteration"
    ticks = [t for t in overall.get_xticks() if 0 <= t <= 2]
    assert ticks == [0, 1, 2]  # whole iterations only
    a, b = overall.get_lines()
    assert (a.get_marker(), a.get_linestyle()) != (b.get_marker(), b.get_linestyle())
    assert list(a.get_ydata()) == list(b.get_ydata())  # equal curves, told apart by style
    [legend] = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b"]  # no "mean of 1"


def test_summarize_and_progress_lines(tmp_path, caplog) -> None:
    infos = [
        {"history": [0.1, 0.3], "test": {"accuracy": 0.25}},
        {"history": [0.2, 0.2], "test": {"accuracy": 0.15}},
        {},  # an episode that did not finish contributes nothing
    ]
    report = SkillListEnv.summarize(infos, tmp_path)
    assert report["finished_episodes"] == 2
    assert report["val_accuracy_start"] == pytest.approx(0.15)
    assert report["val_gain"] == pytest.approx(0.1)
    assert report["test_accuracy"] == pytest.approx(0.2)
    assert (tmp_path / "learning_curve.png").exists()

    env = tiny_env()
    with caplog.at_level(logging.INFO, logger="societygym"):
        env.reset(seed=0)
        env.step([{"instruction": "Is 4 even? Answer yes or no.", "response": "yes"}, {}])
    lines = [r.getMessage() for r in caplog.records if "iteration" in r.getMessage()]
    assert lines[0].startswith("math skill-list iteration 0")
    assert "1 examples (1 rejected)" in lines[1] and "loss" in lines[1]
