"""The three DataEnv kinds: spaces, validation of data, reward, budget, test split, resume."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from societygym.agents.teachers import (
    AlternatingTreePolicy,
    NoStateTeacher,
    SkillListTeacher,
    ThresholdTreePolicy,
    allocate,
)
from societygym.envs.dataenv.domains import make_domain
from societygym.envs.dataenv.open_ended_env import OpenEndedEnv
from societygym.envs.dataenv.skill_list_env import SkillListEnv
from societygym.envs.dataenv.skill_tree_env import SkillTreeEnv

TINY = dict(
    student="tiny",
    max_iterations=2,
    max_examples=40,
    val_per_skill=1,
    test_per_skill=1,
    max_errors_shown=4,
    train_config={"epochs": 1},
)


class SkillLearner:
    """A scripted student: it answers a question right once it has trained on an example of
    the question's form (its words without digits). Records every question it was asked."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.reset()
        self.asked: list[str] = []
        self.trained_on: list[list[tuple[str, str]]] = []

    @staticmethod
    def form(text: str) -> str:
        return " ".join(w for w in text.split() if not any(c.isdigit() for c in w))

    def reset(self) -> None:
        self.known: set[str] = set()

    def train(self, pairs, seed):
        from societygym.envs.dataenv.trainer import TrainStats

        self.trained_on.append(list(pairs))
        self.known |= {self.form(q) for q, _ in pairs}
        return TrainStats(examples=len(pairs))

    def answer(self, questions, max_new_tokens):
        self.asked += questions
        return [self.answers.get(q, "?") if self.form(q) in self.known else "?" for q in questions]

    def save(self, folder) -> None:
        (Path(folder) / "known.json").write_text(json.dumps(sorted(self.known)))

    def load(self, folder) -> None:
        self.known = set(json.loads((Path(folder) / "known.json").read_text()))


@pytest.fixture(scope="module")
def domain():
    return make_domain("math")


def learner(domain) -> SkillLearner:
    items = domain.load_split("validation") + domain.load_split("test")
    return SkillLearner({i.question: i.answer for i in items})


def examples(domain, skill: str, n: int, seed: int = 0) -> list[dict]:
    return [e.to_dict() for e in domain.generate(skill, n, np.random.default_rng(seed))]


@pytest.fixture(autouse=True)
def one_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("cls", [OpenEndedEnv, SkillListEnv, SkillTreeEnv])
def test_env_checker_with_a_tiny_student(cls) -> None:
    env = cls(**TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(env, skip_render_check=True)


def test_reward_is_the_change_in_validation_accuracy(domain) -> None:
    env = SkillListEnv(student=learner(domain), val_per_skill=2, test_per_skill=2, data_cost=0.001)
    obs, info = env.reset(seed=0)
    assert info["validation"]["accuracy"] == 0.0
    obs, reward, terminated, truncated, info = env.step(examples(domain, "parity", 5))
    gained = 2 / len(env.validation)  # both parity questions are now right
    assert info["validation"]["accuracy"] == pytest.approx(gained)
    assert reward == pytest.approx(gained - 5 * 0.001)
    assert obs["skill_accuracy"][env.skills.index("parity")] == 1.0
    assert obs["accuracy"][0] == pytest.approx(gained)
    assert not terminated and not truncated


def test_malformed_data_is_rejected_with_reasons(domain) -> None:
    student = learner(domain)
    env = OpenEndedEnv(student=student, val_per_skill=1, test_per_skill=1)
    env.reset(seed=0)
    held_out = env.validation[0].question
    action = [
        {"instruction": "What is 2 + 2?", "response": "4"},
        {"instruction": "", "response": "4"},
        {"instruction": "Q?", "response": "   "},
        {"instruction": "Q?"},
        {"instruction": "Q?", "response": 4},
        {"instruction": "Q?", "response": "4", "color": "red"},
        "not a mapping",
        {"instruction": held_out, "response": "even"},
        {"instruction": "x" * 5000, "response": "4"},
    ]
    _, _, _, _, info = env.step(action)
    assert info["accepted"] == 1
    reasons = {r["index"]: r["reason"] for r in info["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "empty instruction" in reasons[1] and "empty response" in reasons[2]
    assert "'response' must be a string" in reasons[3] == reasons[4]
    assert "unknown fields" in reasons[5] and "mapping" in reasons[6]
    assert "held-out" in reasons[7] and "exceeds" in reasons[8]
    assert student.trained_on == [[("What is 2 + 2?", "4")]]


def test_json_text_actions_and_wrong_types(domain) -> None:
    env = SkillListEnv(student=learner(domain), val_per_skill=1, test_per_skill=1)
    env.reset(seed=0)
    text = "Here you go:\n" + json.dumps(examples(domain, "rounding", 3)) + "\nGood luck!"
    _, _, _, _, info = env.step(text)
    assert info["accepted"] == 3 and not info["rejected"]
    env.reset(seed=0)
    bad_skill = [{"instruction": "What is 1 + 1?", "response": "2", "skill": "poetry"}]
    _, reward, _, _, info = env.step(bad_skill)
    assert info["rejected"][0]["reason"] == "unknown skill 'poetry'" and reward == 0.0
    env.reset(seed=0)
    _, reward, _, _, info = env.step("no json here")
    assert "no JSON" in info["error"] and info["accepted"] == 0 and reward == 0.0
    for wrong in (None, 3.5, b"bytes", {"instruction": "a"}):
        env.reset(seed=0)
        with pytest.raises(TypeError, match="data action"):
            env.step(wrong)


def test_budget_truncates_and_test_split_is_seen_only_at_the_end(domain) -> None:
    student = learner(domain)
    env = OpenEndedEnv(student=student, max_iterations=3, max_examples=6, val_per_skill=1)
    env.reset(seed=0)
    test_questions = {i.question for i in env.test_items}
    _, _, _, truncated, info = env.step(examples(domain, "parity", 4))
    assert not truncated and "test" not in info
    assert not test_questions & set(student.asked)
    _, _, _, truncated, info = env.step(examples(domain, "addition", 4, seed=1))
    assert info["accepted"] == 2
    assert [r["reason"] for r in info["rejected"]] == ["over the example budget"] * 2
    assert truncated and info["test"]["count"] == len(env.test_items)
    assert test_questions <= set(student.asked)
    assert info["test"]["per_skill"]["parity"] == 1.0
    assert info["history"] == [0.0, pytest.approx(1 / 11), pytest.approx(2 / 11)]
    with pytest.raises(RuntimeError, match="reset"):
        env.step([])


def test_retrain_mode_starts_from_base_on_all_data(domain) -> None:
    student = learner(domain)
    env = OpenEndedEnv(student=student, training="retrain", val_per_skill=1, test_per_skill=1)
    env.reset(seed=0)
    first, second = examples(domain, "parity", 2), examples(domain, "rounding", 2)
    env.step(first)
    env.step(second)
    assert len(student.trained_on[0]) == 2 and len(student.trained_on[1]) == 4


def test_observation_shows_seeded_errors_never_answers_of_test(domain) -> None:
    env = OpenEndedEnv(student=learner(domain), val_per_skill=2, max_errors_shown=3)
    obs_a, _ = env.reset(seed=1)
    obs_b, _ = env.reset(seed=2)
    errors = json.loads(obs_a["errors"])
    assert len(errors) == 3 and set(errors[0]) == {"question", "student_answer", "gold_answer"}
    assert obs_a["errors"] != obs_b["errors"]
    test_questions = {i.question for i in env.test_items}
    assert not any(q in obs_a["text"] for q in test_questions)


def test_resumed_episode_equals_uninterrupted(domain, tmp_path) -> None:
    settings = dict(TINY, max_iterations=3, train_config={"epochs": 2})
    data = [examples(domain, s, 4, seed=i) for i, s in enumerate(["parity", "addition", "gcd"])]

    whole = OpenEndedEnv(**settings, run_dir=tmp_path / "whole")
    whole.reset(seed=5)
    record = [whole.step(d) for d in data]

    killed = OpenEndedEnv(**settings, run_dir=tmp_path / "killed")
    killed.reset(seed=5)
    killed.step(data[0])
    del killed  # the process dies after iteration 1 completed
    resumed = OpenEndedEnv(**settings, run_dir=tmp_path / "killed")
    obs, info = resumed.reset(options={"resume": True})
    assert info["resumed"] and info["iteration"] == 1
    assert repr(obs) == repr(record[0][0])
    for d, (obs_w, reward_w, _, trunc_w, info_w) in zip(data[1:], record[1:], strict=True):
        obs_r, reward_r, _, trunc_r, info_r = resumed.step(d)
        assert repr(obs_r) == repr(obs_w) and reward_r == reward_w and trunc_r == trunc_w
        assert info_r["train"]["last_loss"] == info_w["train"]["last_loss"]
    assert info_r["test"] == info_w["test"]
    progress = (tmp_path / "killed" / "progress.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in progress] == [0, 1, 2, 3]


def test_skill_tree_explore_exploit_and_engine(domain) -> None:
    env = SkillTreeEnv(student=learner(domain), val_per_skill=1, max_examples=30)
    obs, _ = env.reset(seed=0)
    assert all(node["subskills"] == {} for node in json.loads(obs["tree"]).values())
    explore = [
        {"skill": "parity", "explore": {"subskills": ["small", "large"], "allocation": [3, 2]}},
        {"skill": "parity", "exploit": {"allocation": {"missing": 1}}},
        {"skill": "nope", "explore": {"subskills": ["a"]}},
        {"skill": "rounding", "explore": {"subskills": ["x"], "allocation": 1000}},
        "junk",
        # an LLM teacher wrote this: an unhashable skill must be rejected, not crash the step
        {"skill": {"name": "parity"}, "explore": {"subskills": ["y"]}},
    ]
    obs, reward, _, _, info = env.step(json.dumps(explore))
    reasons = [r["reason"] for r in info["rejected_actions"]]
    assert len(reasons) == 5 and "unknown subskill" in reasons[0]
    assert "unknown skill" in reasons[1] and "allocation" in reasons[2]
    assert reasons[4] == "'skill' must be a string naming a skill, got dict"
    assert info["accepted"] == 5 and info["engine"]["kept"] == 5
    tree = json.loads(obs["tree"])
    assert tree["parity"]["subskills"]["small"] == {
        "allocation": 3,
        "generated": 3,
        "student_accuracy": 0.0,  # probed before training on it
    }
    assert tree["parity"]["accuracy"] == 1.0 and reward == pytest.approx(1 / 11)
    # exploit beyond the budget: scaled down proportionally
    obs, _, _, truncated, info = env.step(
        {"skill": "parity", "exploit": {"allocation": {"small": 60, "large": 20}}}
    )
    assert info["allocation_scaled"] and info["accepted"] == 25 - 1
    assert truncated is False
    with pytest.raises(TypeError, match="skill-tree action"):
        env.step(7)


def test_teachers(domain) -> None:
    assert allocate([1, 1, 1], 10) == [4, 3, 3] and sum(allocate([0.2, 0.5, 0.3], 7)) == 7
    assert allocate([0, 0], 5) == [0, 0]
    env = SkillListEnv(student=learner(domain), val_per_skill=1, max_examples=60)
    obs, info = env.reset(seed=0)
    uniform = NoStateTeacher(examples_per_step=22).act(obs, info)
    assert len(uniform) == 22 and {e["skill"] for e in uniform} == set(env.skills)
    obs, _, _, _, info = env.step(examples(domain, "parity", 3))
    targeted = SkillListTeacher(examples_per_step=20, focus=2).act(obs, info)
    assert len(targeted) == 20 and "parity" not in {e["skill"] for e in targeted}
    tree_env = SkillTreeEnv(student=learner(domain), val_per_skill=1, max_examples=100)
    for policy in (AlternatingTreePolicy(allocation=2), ThresholdTreePolicy(allocation=2)):
        policy.reset()
        obs, info = tree_env.reset(seed=0)
        for _ in range(3):
            obs, _, _, _, info = tree_env.step(policy.act(obs, info))
            assert not info["rejected_actions"]
        assert info["test"]["accuracy"] > 0
