"""A local model with a trained LoRA adapter merged in (``"lora:<adapter dir>"``).

The adapter folders our training pipelines write (LACIE's DPO, PBT, GRPO) become an
LLM like any other, so a trained checkpoint can be played, evaluated and submitted to
the leaderboard by spec. Merging makes generation as fast as the base model's. The
name carries a hash of the adapter's weights, so two checkpoints in folders of the
same name are told apart in traces and bundles.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from societygym.llm.transformers_backend import TransformersLLM

ADAPTER_WEIGHTS = "adapter_model.safetensors"


def adapter_digest(adapter_dir: str | Path) -> str:
    """The first 12 hex digits of the sha256 of the adapter's weights file."""
    weights = Path(adapter_dir) / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{adapter_dir} holds no {ADAPTER_WEIGHTS}: not a LoRA adapter")
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:12]


def load_lora_llm(
    adapter_dir: str | Path, base_dir: str | Path | None = None, *, name: str | None = None
) -> TransformersLLM:
    """The base model (default: the embedded SmolLM2) with the adapter merged in."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    digest = adapter_digest(adapter_dir)
    if base_dir is None:
        from societygym.llm.embedded import embedded_model_dir

        base_dir = embedded_model_dir()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    model.to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    return TransformersLLM(model, tokenizer, name=name or f"lora:{Path(adapter_dir).name}@{digest}")
