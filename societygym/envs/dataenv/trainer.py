"""A compact supervised fine-tuning loop for any Hugging Face causal LM (LoRA or full).

Written directly on torch rather than through ``transformers.Trainer``/TRL so that one env
step pays for nothing but the optimisation itself: examples are tokenized once, batches
group similar lengths (little padding), the loss is the token-weighted mean over each
accumulated batch (so gradient accumulation equals one large batch), and logits are only
computed where there are labels. On CUDA the forward runs under bf16 autocast with fp32
master weights; on CPU everything stays fp32 (bf16 is many times slower on CPUs without
native support). All randomness comes from the ``seed`` argument; global RNG state is
saved and restored around training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

IGNORE = -100


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training call (one env step)."""

    epochs: int = 3
    batch_size: int = 8  # examples per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    learning_rate: float = 5e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    max_length: int = 512  # tokens per example (prompt + response); longer ones are cut
    group_by_length: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "grad_accum", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1")
        if self.learning_rate <= 0:
            raise ValueError("TrainConfig.learning_rate must be > 0")


@dataclass
class TrainStats:
    """What one training call did."""

    examples: int = 0
    optimizer_steps: int = 0
    tokens: int = 0  # non-padding tokens processed (forward + backward), all epochs
    label_tokens: int = 0
    truncated: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)  # one per optimizer step

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "optimizer_steps": self.optimizer_steps,
            "tokens": self.tokens,
            "label_tokens": self.label_tokens,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
            "tokens_per_second": round(self.tokens_per_second, 1),
            "first_loss": self.losses[0] if self.losses else None,
            "last_loss": self.losses[-1] if self.losses else None,
        }


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]  # IGNORE on prompt positions


def tokenize_pairs(
    tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int
) -> tuple[list[Tokenized], int]:
    """(prompt text, response) pairs as token ids with loss only on the response + EOS.

    The prompt is tokenized on its own, exactly as at evaluation time, so the model learns to
    continue the very prefix it will be given. Returns the rows and how many were cut.
    """
    eos = tokenizer.eos_token_id
    rows, cut = [], 0
    for prompt, response in pairs:
        prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
        answer_ids = tokenizer(response, add_special_tokens=False).input_ids
        if eos is not None:
            answer_ids = [*answer_ids, eos]
        ids = prompt_ids + answer_ids
        labels = [IGNORE] * len(prompt_ids) + answer_ids
        if len(ids) > max_length:
            cut += 1
            ids, labels = ids[:max_length], labels[:max_length]
        rows.append(Tokenized(ids, labels))
    return rows, cut


def batch_order(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, group_by_length: bool
) -> list[list[int]]:
    """Shuffled batches of indices; with grouping, each batch holds similar lengths.

    Grouping sorts within random windows of 32 batches, then shuffles the batches, so the
    order stays random while padding shrinks.
    """
    order = rng.permutation(len(lengths)).tolist()
    if group_by_length:
        window = 32 * batch_size
        order = [
            i
            for start in range(0, len(order), window)
            for i in sorted(order[start : start + window], key=lambda j: -lengths[j])
        ]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if group_by_length:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _collate(rows: Sequence[Tokenized], pad_id: int, device: Any) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(r.input_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        n = len(row.input_ids)
        ids[r, :n] = torch.tensor(row.input_ids)
        labels[r, :n] = torch.tensor(row.labels)
        mask[r, :n] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def _causal_lm(model: Any) -> Any:
    """The underlying ``*ForCausalLM`` (unwrapping a peft model)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def label_loss_sum(model: Any, ids: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor):
    """Summed cross-entropy over labelled tokens, projecting only those positions to logits.

    Models with extra logit processing (e.g. Gemma's soft-capping) take the full forward.
    """
    import torch.nn.functional as F

    lm = _causal_lm(model)
    targets = labels[:, 1:]
    keep = targets != IGNORE
    if getattr(lm.config, "final_logit_softcapping", None) is None and hasattr(
        lm, lm.base_model_prefix
    ):
        hidden = getattr(lm, lm.base_model_prefix)(input_ids=ids, attention_mask=mask)[0]
        logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
    else:
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1][keep]
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum")


def train(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    config: TrainConfig,
    seed: int,
) -> TrainStats:
    """Fine-tune ``model``'s trainable parameters on (prompt text, response) pairs in place."""
    import torch

    from societygym import progress
    from societygym.llm import torch_runtime

    stats = TrainStats(examples=len(pairs))
    if not pairs:
        return stats
    start = time.perf_counter()
    device = next(model.parameters()).device
    rows, stats.truncated = tokenize_pairs(tokenizer, pairs, config.max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rng = np.random.default_rng(seed)
    epochs = [
        batch_order(
            [len(r.input_ids) for r in rows], config.batch_size, rng, config.group_by_length
        )
        for _ in range(config.epochs)
    ]
    micro = [batch for epoch in epochs for batch in epoch]
    groups = [micro[i : i + config.grad_accum] for i in range(0, len(micro), config.grad_accum)]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=config.learning_rate, weight_decay=config.weight_decay, foreach=True
    )
    warmup = max(1, math.ceil(config.warmup_ratio * len(groups)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (len(groups) - s) / (len(groups) - warmup + 1))),
    )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    rng_devices = [device] if device.type == "cuda" else []
    per_epoch = len(epochs[0])
    with (
        torch.random.fork_rng(devices=rng_devices),
        torch_runtime.attention_kernels(),
        progress.stage(len(groups), "training student", "step") as bar,
    ):
        torch.manual_seed(seed)  # dropout, if the model has any
        for step, group in enumerate(groups):
            label_count = sum(
                sum(t != IGNORE for t in rows[i].labels[1:]) for batch in group for i in batch
            )
            total = 0.0
            for batch in group:
                ids, labels, mask = _collate([rows[i] for i in batch], pad_id, device)
                with autocast:
                    loss = label_loss_sum(model, ids, labels, mask) / max(label_count, 1)
                loss.backward()
                total += loss.item()
                stats.tokens += int(mask.sum())
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            stats.losses.append(total)
            stats.label_tokens += label_count
            epoch = step * config.grad_accum // per_epoch + 1
            bar.set_postfix_str(f"epoch {epoch}/{config.epochs}, loss {total:.3f}", refresh=False)
            bar.update(1)
    model.eval()
    stats.optimizer_steps = len(groups)
    stats.seconds = time.perf_counter() - start
    return stats
