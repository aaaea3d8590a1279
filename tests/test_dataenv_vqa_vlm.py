"""The VLM student's real code path (AutoModelForImageTextToText + AutoProcessor + peft
LoRA) on a tiny random LLaVA built from configs and saved locally (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from societygym.envs.dataenv.domains.vqa import scenes

pytestmark = pytest.mark.slow

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}:"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %} <image>"
    "{% else %} {{ c['text'] }}{% endif %}{% endfor %}"
    "{% if m['role'] == 'assistant' %}<eos>{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    specials = ["<unk>", "<pad>", "<eos>", "<image>"]
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = " ".join(scenes.ANSWERS) + " user assistant what shape color is there a how many"
    raw.train_from_iterator(
        [corpus] * 10, trainers.BpeTrainer(vocab_size=300, special_tokens=specials)
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=4,
            image_size=32,
            patch_size=8,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        ),
        image_token_id=image_token,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
        ),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        chat_template=CHAT_TEMPLATE,
        image_token="<image>",
        num_additional_image_tokens=1,
    )
    folder = tmp_path_factory.mktemp("tiny-llava")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


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
