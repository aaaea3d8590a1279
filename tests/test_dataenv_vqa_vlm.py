"""The VLM student's real code path (AutoModelForImageTextToText + AutoProcessor + peft
LoRA) on a tiny random LLaVA built from configs and saved locally (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from societygym.envs.dataenv.domains.vqa import scenes
from societygym.envs.dataenv.domains.vqa.tiny_models import build_tiny_llava_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llava_dir(tmp_path_factory.mktemp("tiny-llava"))


def pairs(n: int, seed: int = 0) -> list[tuple[np.ndarray, str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        scene, question, reply = scenes.sample("shape_presence", rng)
        out.append((scenes.render_array(scene, 32), question, reply))
    return out


def test_vlm_student_trains_lora_and_answers(tiny_vlm: Path, tmp_path: Path) -> None:
    from societygym.envs.dataenv.students.vlm import VLMStudent

    student = VLMStudent(str(tiny_vlm), train_config={"epochs": 4, "learning_rate": 5e-3})
    trainable = sum(p.numel() for p in student.model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in student.model.parameters())
    assert 0 < trainable < total / 4  # LoRA adapters only
    data = pairs(8)
    before = student.answer([(i, q) for i, q, _ in data], max_new_tokens=3)
    stats = student.train(data, seed=0)
    assert stats.optimizer_steps == 4 and stats.losses[-1] < stats.losses[0]
    after = student.answer([(i, q) for i, q, _ in data], max_new_tokens=3)
    assert all(isinstance(a, str) for a in after) and len(after) == len(data)
    student.save(tmp_path)
    student.reset()
    assert student.answer([(i, q) for i, q, _ in data], max_new_tokens=3) == before
    student.load(tmp_path)
    assert student.answer([(i, q) for i, q, _ in data], max_new_tokens=3) == after


def test_vqa_domain_builds_the_vlm_student(tiny_vlm: Path) -> None:
    from societygym.envs.dataenv.domains.vqa.domain import VQADomain
    from societygym.envs.dataenv.students.vlm import VLMStudent

    student = VQADomain().make_student(f"vlm:{tiny_vlm}", "lora", {"epochs": 1}, 0)
    assert isinstance(student, VLMStudent)
