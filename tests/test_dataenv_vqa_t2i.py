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
from societygym.envs.dataenv.records import Example
from societygym.envs.dataenv.skill_list import SkillListEnv

pytest.importorskip("diffusers")


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    words = "a red blue green circle triangle rectangle at top left right bottom center two"
    trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>", "<pad>", "<eos>"])
    tokenizer.train_from_iterator([words] * 20, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        pad_token="<pad>",
        eos_token="<eos>",
        model_max_length=16,
    )


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            max_position_embeddings=16,
            pad_token_id=1,
            eos_token_id=2,
            bos_token_id=0,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=(16, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=16,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    folder = tmp_path_factory.mktemp("tiny-sd")
    pipe.save_pretrained(folder)
    return folder


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
