"""A Hugging Face vision-language model as a VQA student, fine-tuned with LoRA (or fully).

Any checkpoint ``transformers`` loads with ``AutoModelForImageTextToText`` and
``AutoProcessor`` (LLaVA, SmolVLM, Idefics, Qwen2-VL, ...) and whose processor has a chat
template works: the question goes in a user turn with the image, the answer is the
assistant turn, and the loss covers the answer tokens only. On CUDA the forward runs under
bf16 autocast (fp32 master weights); on CPU everything stays fp32. Answers are greedy.
This is the GPU student of the VQA domain; the CPU default is ``vqa_cnn``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from societygym import progress
from societygym.envs.dataenv.trainer import TrainConfig, TrainStats

ADAPTER_FILE = "vlm_trainable.pt"


def _messages(question: str, answer: str | None = None) -> list[dict[str, Any]]:
    turns = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    if answer is not None:
        turns.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return turns


class VLMStudent:
    """``model``: a hub id / local directory, or a ``(model, processor)`` pair (tests build
    a tiny random one). ``finetune``: ``"lora"`` (peft, ``lora_rank``) or ``"full"``."""

    def __init__(
        self,
        model: str | tuple[Any, Any],
        finetune: str = "lora",
        train_config: TrainConfig | dict | None = None,
        seed: int = 0,
        lora_rank: int = 8,
        device: str | None = None,
    ) -> None:
        import torch

        if finetune not in ("lora", "full"):
            raise ValueError(f"finetune must be 'lora' or 'full', got {finetune!r}")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if isinstance(train_config, dict) or train_config is None:
            train_config = TrainConfig(**(train_config or {}))
        self.config = train_config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model, self.processor = self._load(model)
            if finetune == "lora":
                from peft import LoraConfig, get_peft_model

                targets = ["q_proj", "k_proj", "v_proj", "o_proj"]
                lora = LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, target_modules=targets)
                self.model = get_peft_model(self.model, lora)
        self.model.to(self.device)
        self._initial = {k: v.detach().cpu().clone() for k, v in self._trainable().items()}

    @staticmethod
    def _load(model: str | tuple[Any, Any]) -> tuple[Any, Any]:
        if not isinstance(model, str):
            return model
        from transformers import AutoModelForImageTextToText, AutoProcessor

        return (
            AutoModelForImageTextToText.from_pretrained(model, dtype="float32"),
            AutoProcessor.from_pretrained(model),
        )

    def _trainable(self) -> dict[str, Any]:
        return {n: p for n, p in self.model.named_parameters() if p.requires_grad}

    def _autocast(self) -> Any:
        import torch

        # bf16 as the docstring says: CUDA autocast's own default, fp16, would need a
        # gradient scaler to keep small gradients from underflowing.
        enabled = self.device.startswith("cuda")
        return torch.autocast(
            device_type="cuda" if enabled else "cpu", dtype=torch.bfloat16, enabled=enabled
        )

    def _encode(self, images: Sequence[np.ndarray], texts: list[str]) -> Any:
        pil = [[Image.fromarray(np.asarray(i, dtype=np.uint8))] for i in images]
        batch = self.processor(text=texts, images=pil, return_tensors="pt", padding=True)
        return batch.to(self.device)

    def _prompt(self, question: str, answer: str | None = None) -> str:
        return self.processor.apply_chat_template(
            _messages(question, answer), add_generation_prompt=answer is None
        )

    # --- Student protocol ---------------------------------------------------------------------

    def train(self, pairs: Sequence[tuple[np.ndarray, str, str]], seed: int) -> TrainStats:
        import torch

        start = time.perf_counter()
        stats = TrainStats(examples=len(pairs))
        if not pairs:
            return stats
        rng = np.random.default_rng(seed)
        params = list(self._trainable().values())
        optimizer = torch.optim.AdamW(params, lr=self.config.learning_rate)
        self.model.train()
        size, epochs = self.config.batch_size, self.config.epochs
        with progress.stage(epochs * -(-len(pairs) // size), "training student", "step") as bar:
            for epoch in range(epochs):
                order = rng.permutation(len(pairs))
                for begin in range(0, len(order), size):
                    chunk = [pairs[k] for k in order[begin : begin + size]]
                    loss, tokens = self._loss(chunk)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad()
                    stats.optimizer_steps += 1
                    stats.tokens += tokens
                    stats.losses.append(round(loss.item(), 4))
                    bar.set_postfix_str(f"epoch {epoch + 1}/{epochs}", refresh=False)
                    bar.update(1)
        stats.seconds = time.perf_counter() - start
        return stats

    def _loss(self, chunk: Sequence[tuple[np.ndarray, str, str]]) -> tuple[Any, int]:
        """Cross-entropy on the answer tokens (prompt and padding masked)."""
        tokenizer = self.processor.tokenizer
        tokenizer.padding_side = "right"
        full = [self._prompt(q, a) for _, q, a in chunk]
        prompts = [self._prompt(q) for _, q, _ in chunk]
        batch = self._encode([c[0] for c in chunk], full)
        prompt_lengths = self._encode([c[0] for c in chunk], prompts)["attention_mask"].sum(1)
        labels = batch["input_ids"].clone()
        labels[batch["attention_mask"] == 0] = -100
        for row, length in enumerate(prompt_lengths.tolist()):
            labels[row, :length] = -100
        with self._autocast():
            out = self.model(**batch, labels=labels)
        return out.loss, int(batch["attention_mask"].sum())

    def answer(
        self, inputs: Sequence[tuple[np.ndarray, str]], max_new_tokens: int = 8
    ) -> list[str]:
        import torch

        tokenizer = self.processor.tokenizer
        tokenizer.padding_side = "left"  # generation continues every row at the same place
        self.model.eval()
        out: list[str] = []
        size = max(self.config.batch_size, 1)
        with torch.inference_mode(), self._autocast():
            for begin in range(0, len(inputs), size):
                chunk = inputs[begin : begin + size]
                batch = self._encode([c[0] for c in chunk], [self._prompt(q) for _, q in chunk])
                generated = self.model.generate(
                    **batch,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
                new = generated[:, batch["input_ids"].shape[1] :]
                out += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
                progress.generated(len(chunk))
        return out

    def reset(self) -> None:
        import torch

        with torch.no_grad():
            for name, param in self._trainable().items():
                param.copy_(self._initial[name].to(param.device))

    def save(self, folder: str | os.PathLike) -> None:
        import torch

        state = {k: v.detach().cpu() for k, v in self._trainable().items()}
        torch.save(state, Path(folder) / ADAPTER_FILE)

    def load(self, folder: str | os.PathLike) -> None:
        import torch

        state = torch.load(Path(folder) / ADAPTER_FILE, weights_only=True)
        with torch.no_grad():
            for name, param in self._trainable().items():
                param.copy_(state[name].to(param.device))
