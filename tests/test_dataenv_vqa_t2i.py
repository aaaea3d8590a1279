"""The diffusers text-to-image backend, run for real on a tiny random Stable Diffusion
pipeline built from configs (no download), saved and loaded through
``AutoPipelineForText2Image`` as a hub id would be, up to a teaching env whose ``step()``
trains its student on the pipeline's images. Not marked slow: CI runs it (diffusers is in
``make install``), about 25 s on two shared cores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from societygym.envs.dataenv.domains.vqa.domain import VQADomain
from societygym.envs.dataenv.domains.vqa.text_to_image import DiffusersBackend, ProceduralBackend
from societygym.envs.dataenv.domains.vqa.tiny_models import build_tiny_diffusion_dir
from societygym.envs.dataenv.records import Example
from societygym.envs.dataenv.skill_list_env import SkillListEnv

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_diffusion_dir(tmp_path_factory.mktemp("tiny-sd"))


def test_diffusers_backend_loads_any_pipeline_and_is_seeded(pipeline_dir: Path) -> None:
    backend = DiffusersBackend(str(pipeline_dir), steps=2, resolution=16, device="cpu")
    first = backend(["a red circle", "two blue triangles"], size=32)
    assert [a.shape for a in first] == [(32, 32, 3)] * 2 and first[0].dtype == np.uint8
    again = backend(["a red circle"], size=32)
    assert np.array_equal(first[0], again[0])  # seeded by the description
    assert not np.array_equal(first[0], first[1])


def test_domain_trains_on_diffusers_images(pipeline_dir: Path) -> None:
    backend = DiffusersBackend(str(pipeline_dir), steps=1, resolution=16, device="cpu")
    domain = VQADomain(text_to_image=backend, image_size=32)
    example = Example("is there a circle?", "yes", image="a red circle")
    assert domain.check_example(example) is None
    image, question, reply = domain.training_pair(example)
    assert image.shape == (32, 32, 3) and (question, reply) == ("is there a circle?", "yes")
    assert domain.verify(example) is True  # judged on the description, not the pixels


class RecordingBackend(DiffusersBackend):
    """The real backend, noting which descriptions it drew."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drawn: list[str] = []

    def __call__(self, descriptions, size):
        self.drawn.extend(descriptions)
        return super().__call__(descriptions, size)


def test_teaching_env_step_trains_its_student_on_pipeline_images(pipeline_dir: Path) -> None:
    backend = RecordingBackend(str(pipeline_dir), steps=1, resolution=16, device="cpu")
    domain = VQADomain(text_to_image=backend, image_size=32)
    env = SkillListEnv(
        domain=domain, student="tiny", val_per_skill=1, test_per_skill=1, max_iterations=1
    )
    env.reset(seed=0)
    examples = [e.to_dict() for e in domain.generate("count", 4, np.random.default_rng(0))]
    descriptions = [e["image"] for e in examples]
    _, _, _, truncated, info = env.step(examples)
    assert info["accepted"] == 4 and info["train"]["examples"] == 4 and truncated
    assert set(descriptions) <= set(backend.drawn)  # drawn by the pipeline inside step()
    # what the student trained on is the pipeline's picture, not the exact renderer's
    trained = domain.training_pair(Example(**examples[0]))[0]
    assert np.array_equal(trained, backend(descriptions[:1], 32)[0])
    assert not np.array_equal(trained, ProceduralBackend()(descriptions[:1], 32)[0])
