"""The VQA teaching domain: frozen splits, grading, the held-out check on pixels, the
envs' error images, the CNN student and the GQA loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from societygym.envs.dataenv.domains.vqa import easy_vqa_data, scenes
from societygym.envs.dataenv.domains.vqa.domain import (
    FINGERPRINTS,
    VQADomain,
    build_splits,
    normalize_answer,
)
from societygym.envs.dataenv.domains.vqa.images import encode_png
from societygym.envs.dataenv.records import Example, fingerprint
from societygym.envs.dataenv.skill_list_env import SkillListEnv
from societygym.envs.dataenv.skill_tree_env import SkillTreeEnv

FIXTURES = Path(__file__).parent / "fixtures" / "gqa"


@pytest.fixture(scope="module")
def domain() -> VQADomain:
    return VQADomain()


@pytest.mark.parametrize("source", sorted(FINGERPRINTS))
def test_splits_are_frozen_and_disjoint(source: str) -> None:
    splits = build_splits(source)
    assert {s: fingerprint(items) for s, items in splits.items()} == FINGERPRINTS[source]
    domain = VQADomain(source)
    for items in splits.values():
        assert len(items) == 40 * len(domain.skills)
        assert len({i.id for i in items}) == len(items)
        assert all(scenes.classify(i.question) == i.skill for i in items)
    keys = {s: {domain.item_key(i) for i in items} for s, items in splits.items()}
    assert not keys["validation"] & keys["test"]
    real = {
        s: {i.image for i in items if i.image.startswith(easy_vqa_data.PREFIX)}
        for s, items in splits.items()
    }
    assert not real["validation"] & real["test"]


def test_larger_splits_for_tighter_intervals() -> None:
    """``per_skill`` up to 300 builds bigger splits the same way, still balanced and disjoint;
    only the default size is pinned."""
    big = VQADomain(per_skill=150)
    validation, test = big.load_split("validation"), big.load_split("test")
    assert len(validation) == len(test) == 150 * len(big.skills)
    presence = [i.answer for i in validation if i.skill == "color_presence"]
    assert presence.count("yes") == presence.count("no") == 75
    assert not {big.item_key(i) for i in validation} & {big.item_key(i) for i in test}
    assert {big.item_key(i) for i in test} <= big.held_out_keys
    with pytest.raises(ValueError, match="per_skill"):
        VQADomain(per_skill=301).load_split("test")


def test_mixed_source_uses_real_easy_vqa_images(domain: VQADomain) -> None:
    items = domain.load_split("validation")
    by_skill = {s: [i for i in items if i.skill == s] for s in domain.skills}
    assert all(i.image.startswith("easy_vqa:test/") for i in by_skill["shape"])
    assert all(not i.image.startswith("easy_vqa:") for i in by_skill["count"])
    for skill in ("shape_presence", "color_presence", "negation"):
        answers = [i.answer for i in by_skill[skill]]
        assert answers.count("yes") == answers.count("no") == 20  # balanced, not 95% "no"
    image = domain.load_image(by_skill["color"][0].image)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8


def test_procedural_items_are_true_of_their_images(domain: VQADomain) -> None:
    for item in domain.load_split("test"):
        if not item.image.startswith("easy_vqa:"):
            scene = scenes.parse_description(item.image)
            assert scenes.answer(scene, item.question) == item.answer


def test_answers_are_normalized(domain: VQADomain) -> None:
    item = domain.load_split("validation")[0]
    assert domain.is_correct(f"  A {item.answer.upper()}. ", item)
    assert normalize_answer("Two") == "2" and normalize_answer("a grey square") == "gray rectangle"
    assert not domain.is_correct("", item)


def test_examples_are_checked_with_reasons(domain: VQADomain) -> None:
    held = domain.load_split("validation")[0]
    redrawn = encode_png(domain.load_image(held.image))
    cases = {
        "needs an 'image'": Example("is there a circle?", "yes"),
        "unusable image: the description names no shape": Example("q?", "yes", image="a sunset"),
        "could not be decoded": Example("q?", "yes", image="data:image/png;base64,AAAA"),
        "held out": Example("q?", "yes", image="easy_vqa:test/3"),
        "no answer": Example("is there a circle?", "...", image="a red circle"),
    }
    for reason, example in cases.items():
        assert reason in (domain.check_example(example) or ""), reason
    # the held-out check is on pixels + question: a re-encoded validation image is caught
    copy = Example(held.question, held.answer, image=redrawn)
    assert domain.check_example(copy) is None
    assert domain.example_key(copy) in domain.held_out_keys
    other = Example("is there a circle?", "yes", image="easy_vqa:train/12")
    assert domain.check_example(other) is None


def test_generated_examples_are_correct_and_new(domain: VQADomain) -> None:
    rng = np.random.default_rng(0)
    for skill in domain.skills:
        for example in domain.generate(skill, 10, rng):
            assert domain.verify(example) is True
            assert domain.check_example(example) is None
            assert domain.example_key(example) not in domain.held_out_keys
    wrong = Example("how many circles are there?", "3", image="two red circles")
    assert domain.verify(wrong) is False


def _color_examples(n: int, rng: np.random.Generator) -> list[Example]:
    """Single-object scenes asked for their colour (eight answers: chance is 1/8)."""
    out = []
    for _ in range(n):
        scene = scenes.random_scene(rng, max_objects=1)
        color = scene.objects[0].color
        out.append(Example("what color is the shape?", color, "color", scenes.describe(scene)))
    return out


def test_cnn_student_learns(domain: VQADomain, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train = [domain.training_pair(e) for e in _color_examples(200, rng)]
    probe = [domain.as_task_item(e) for e in _color_examples(100, rng)]
    inputs = [domain.student_input(i) for i in probe]
    student = domain.make_student("tiny", "lora", {"epochs": 8}, seed=3)
    before = student.answer(inputs)
    stats = student.train(train, seed=1).to_dict()
    after = student.answer(inputs)
    accuracy = np.mean([domain.is_correct(a, i) for a, i in zip(after, probe, strict=True)])
    assert stats["last_loss"] < stats["first_loss"] and stats["examples"] == 200
    assert accuracy >= 0.5, accuracy  # measured 0.78
    student.save(tmp_path)
    student.reset()
    assert student.answer(inputs) == before
    student.load(tmp_path)
    assert student.answer(inputs) == after


def test_cnn_student_is_deterministic(domain: VQADomain) -> None:
    rng = np.random.default_rng(1)
    train = [domain.training_pair(e) for e in domain.generate("count", 32, rng)]
    train.append((train[0][0], "q?", "not an answer"))
    inputs = [(image, question) for image, question, _ in train]
    runs = []
    for _ in range(2):
        student = domain.make_student("tiny", "lora", {"epochs": 1}, seed=5)
        stats = student.train(train, seed=2)
        runs.append((student.answer(inputs), stats.losses))
    assert runs[0] == runs[1] and stats.skipped == 1
    other = domain.make_student("tiny", "lora", {"epochs": 1}, seed=6)
    other.train(train, seed=2)
    assert other.train([], seed=0).examples == 0
    assert (other.answer(inputs), other.train(train[:1], seed=0).losses) != runs[0]


def test_observation_carries_the_error_images(domain: VQADomain) -> None:
    env = SkillListEnv(
        domain=domain, student="tiny", val_per_skill=2, test_per_skill=1, max_errors_shown=5
    )
    obs, start = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    images = obs["error_images"]
    assert images.shape == (5, 64, 64, 3)
    errors = json.loads(obs["errors"])
    for slot, error in enumerate(errors[:5]):
        assert np.array_equal(images[slot], domain.load_image(error["image"]))
    assert "[image: " in obs["text"] and '"image"' in obs["text"]
    examples = [e.to_dict() for e in domain.generate("count", 8, np.random.default_rng(0))]
    obs, reward, _, _, info = env.step([*examples, {"instruction": "q?", "response": "yes"}])
    assert info["accepted"] == 8 and "needs an 'image'" in info["rejected"][0]["reason"]
    assert info["train"]["examples"] == 8
    gain = info["validation"]["accuracy"] - start["validation"]["accuracy"]
    assert reward == pytest.approx(gain)
    assert env.observation_space.contains(obs)


def test_skill_tree_draws_and_probes(domain: VQADomain) -> None:
    env = SkillTreeEnv(domain=domain, student="tiny", val_per_skill=1, test_per_skill=1)
    env.reset(seed=0)
    action = {"skill": "position", "explore": {"subskills": ["corners"], "allocation": 6}}
    obs, _, _, _, info = env.step(action)
    tree = json.loads(obs["tree"])
    assert info["accepted"] == 6 and info["engine"]["kept"] == 6
    assert tree["position"]["subskills"]["corners"]["student_accuracy"] is not None


def test_math_observations_are_unchanged() -> None:
    env = SkillListEnv(student=_Silent(), val_per_skill=1, test_per_skill=1)
    obs, _ = env.reset(seed=0)
    assert "error_images" not in obs
    assert "image" not in obs["errors"]
    reasons = [
        r["reason"]
        for r in env.step([{"instruction": "1+1?", "response": "2", "image": "a circle"}])[4][
            "rejected"
        ]
    ]
    assert reasons == ["the math domain takes no images"]


class _Silent:
    """A text student that answers nothing (only the observation shape matters here)."""

    def train(self, pairs, seed):
        return None

    def answer(self, inputs, max_new_tokens):
        return [""] * len(inputs)

    def reset(self) -> None: ...

    def save(self, folder) -> None: ...

    def load(self, folder) -> None: ...


def test_gqa_loader_reads_the_hub_schema() -> None:
    from societygym.envs.dataenv.domains.vqa.gqa import GQADomain

    gqa = GQADomain(FIXTURES / "questions.jsonl", FIXTURES / "images")
    validation, test = gqa.load_split("validation"), gqa.load_split("test")
    assert len(validation) + len(test) == 10 and validation and test
    assert not {i.image for i in validation} & {i.image for i in test}
    assert {i.skill for i in validation} <= set(gqa.skills)
    assert gqa.load_image(validation[0].image).shape == (64, 64, 3)
    assert "right" in gqa.answers and not gqa.has_generator
    student = gqa.make_student("tiny", "lora", {"epochs": 1}, 0)
    replies = student.answer([gqa.student_input(i) for i in validation])
    assert all(r in gqa.answers for r in replies)
    held = Example("q?", "yes", image=validation[0].image)
    assert gqa.check_example(held) == "GQA images are held out"


def test_vqa_episode_resumes_with_its_images(domain: VQADomain, tmp_path: Path) -> None:
    def make() -> SkillListEnv:
        return SkillListEnv(
            domain=domain, student="tiny", val_per_skill=1, test_per_skill=1, run_dir=tmp_path
        )

    env = make()
    env.reset(seed=0)
    data = [e.to_dict() for e in domain.generate("shape", 4, np.random.default_rng(0))]
    obs, *_ = env.step(data)
    resumed, info = make().reset(options={"resume": True})
    assert info["resumed"] and resumed.keys() == obs.keys()
    assert all(np.array_equal(resumed[k], obs[k]) for k in obs)
