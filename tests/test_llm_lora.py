"""`lora:<adapter dir>`: a trained LoRA checkpoint as an LLM spec (tiny model, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from societygym.llm import load_llm
from societygym.llm.lora import adapter_digest, load_lora_llm
from societygym.llm.tiny import build_tiny_llm_dir
from societygym.llm.transformers_backend import TransformersLLM


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llm_dir(tmp_path_factory.mktemp("tiny"))


def _save_adapter(base_dir: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter with random (non-zero) B matrices, so merging changes the model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(out)
    return out


def test_merged_adapter_changes_the_model_and_is_named_by_its_weights(
    tiny_dir: Path, tmp_path: Path
) -> None:
    first = _save_adapter(tiny_dir, tmp_path / "ckpt", seed=0)
    other = _save_adapter(tiny_dir, tmp_path / "other" / "ckpt", seed=1)
    base = TransformersLLM(tiny_dir)
    trained = load_lora_llm(first, tiny_dir)
    prompts, answers = ["Q: capital of France?"], [["Paris", "Rome"]]
    assert trained.score_batch(prompts, answers)[0] != pytest.approx(
        base.score_batch(prompts, answers)[0]
    )
    # Same folder name, different weights: the names differ.
    assert trained.name == f"lora:ckpt@{adapter_digest(first)}"
    assert adapter_digest(first) != adapter_digest(other)
    # The spec path reaches the same loader (base model passed through kwargs).
    by_spec = load_llm(f"lora:{first}", base_dir=tiny_dir)
    assert by_spec.score_batch(prompts, answers)[0] == pytest.approx(
        trained.score_batch(prompts, answers)[0]
    )


def test_a_folder_without_adapter_weights_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a LoRA adapter"):
        load_llm(f"lora:{tmp_path}")
