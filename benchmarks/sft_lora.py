"""LoRA supervised fine-tuning merged into a plain model folder: the warm-up stage of the
effect experiments (PBT's SFT before DPO, GRPO's warm-up on planner demonstrations).

Rows are TRL SFT rows (``text``, ``messages`` or ``prompt``/``completion``; prompt-completion
rows train on the completion only). The merged model is saved with its tokenizer, so a later
stage loads it as it loads the base model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from societygym import progress as progress_bars


def sft_lora(
    rows: Sequence[dict[str, Any]],
    base_dir: str | Path,
    out: str | Path,
    *,
    steps: int,
    batch_size: int,
    grad_accum: int = 1,
    learning_rate: float,
    seed: int,
    chat_template: str | None = None,
    lora_r: int = 16,
    target_modules: str | list[str] | None = None,
    max_length: int = 512,
) -> list[dict[str, float]]:
    """Train a LoRA on ``rows`` for ``steps`` optimizer steps (cosine schedule), merge it into
    ``base_dir``'s weights and save the result to ``out``; returns the logged losses.
    ``chat_template`` replaces the tokenizer's (and is saved with the model);
    ``target_modules`` defaults to PEFT's per-architecture choice (attention q and v)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    out = Path(out)
    cuda = torch.cuda.is_available()
    args = SFTConfig(
        output_dir=str(out.with_name(out.name + "-adapter")),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        learning_rate=learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=min(10, max(1, steps // 4)),
        max_length=max_length,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        seed=seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=not progress_bars.enabled(),
    )
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(list(rows)),
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=lora_r,
            lora_alpha=2 * lora_r,
            lora_dropout=0.05,
            target_modules=target_modules,
            task_type="CAUSAL_LM",
        ),
    )
    trainer.train()
    trainer.model.merge_and_unload().save_pretrained(out)
    tokenizer.save_pretrained(out)
    return [entry for entry in trainer.state.log_history if "loss" in entry]
