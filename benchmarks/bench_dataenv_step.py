"""One DataEnv step with the default student: seconds split into train and eval, and our
trainer's tokens/s against TRL's ``SFTTrainer`` on the same model, data and settings.

The comparison runs both trainers in this process on the same examples (LoRA r=16 on all
linear layers, batch 8, 1 epoch over the data, same learning rate and schedule, fp32 on CPU /
bf16 autocast on CUDA), our trainer first and again last so that warm-up and machine load
drift show up; tokens/s counts non-padding tokens. The load average is reported because on
a 2-core machine any other busy process slows torch down several-fold. One JSON line.

On CUDA it also reports the training throughput as model FLOPs utilization:
``mfu = 6 * N * tokens_per_s / peak_flops``, where tokens/s is our trainer's best warm run,
``N`` counts every parameter of the base model (embeddings included, LoRA adapter
excluded: its share of the work is ~r/d) and ``peak_flops`` is the GPU's dense bf16 peak
(``PEAK_BF16_FLOPS`` by device name; ``$SOCIETYGYM_PEAK_FLOPS`` overrides it or fills in for
other GPUs). 6N per token is the usual forward (2N) + backward (4N) count; it is kept for
LoRA too so the figure compares with full fine-tuning, though frozen weights skip their
weight-gradient matmuls (true work nearer 4N), and the trainer computes logits only on
response tokens, so this MFU is a convention, not measured hardware work. On CPU these
fields are null. ``--eval-backend vllm`` evaluates with vLLM (CUDA and the vllm extra).

    python benchmarks/bench_dataenv_step.py [--val-per-skill 5] [--examples 64] [--student embedded]
        [--eval-backend transformers|vllm|auto]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from typing import Any

# Dense bf16 tensor-core peak FLOP/s by device-name substring (first match wins).
PEAK_BF16_FLOPS = (("H100 PCIe", 756e12), ("H200", 989e12), ("H100", 989e12), ("A100", 312e12))


def trl_tokens_per_second(student, pairs, config) -> tuple[float, int]:
    """Train a fresh LoRA on ``pairs`` with TRL's SFTTrainer; (tokens/s, tokens)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    model = AutoModelForCausalLM.from_pretrained(student.model_dir, dtype=torch.float32)
    rows = [
        {
            "prompt": [{"role": "user", "content": i}],
            "completion": [{"role": "assistant", "content": r}],
        }
        for i, r in pairs
    ]
    cuda = torch.cuda.is_available()
    steps = math.ceil(len(rows) / config.batch_size) * config.epochs
    args = SFTConfig(
        output_dir="/tmp/bench-trl",
        per_device_train_batch_size=config.batch_size,
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        warmup_steps=math.ceil(config.warmup_ratio * steps),
        lr_scheduler_type="linear",
        max_length=config.max_length,
        bf16=cuda,
        use_cpu=not cuda,
        save_strategy="no",
        report_to=[],
        logging_steps=10_000,
        disable_tqdm=True,
        seed=0,
    )
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear")
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=student.tokenizer,
        peft_config=lora,
    )
    tokens = sum(len(x["input_ids"]) for x in trainer.train_dataset) * config.epochs
    start = time.perf_counter()
    trainer.train()
    return tokens / (time.perf_counter() - start), tokens


def peak_flops(device_name: str) -> float | None:
    """The GPU's dense bf16 peak: ``$SOCIETYGYM_PEAK_FLOPS``, else the table, else None."""
    if os.environ.get("SOCIETYGYM_PEAK_FLOPS"):
        return float(os.environ["SOCIETYGYM_PEAK_FLOPS"])
    for key, flops in PEAK_BF16_FLOPS:
        if key.lower() in device_name.lower():
            return flops
    return None


def gpu_metrics(student: Any, tokens_per_s: float) -> dict[str, Any]:
    """GPU name, peak, parameter count, training tokens/s and MFU (all None on CPU)."""
    import torch

    keys = ("gpu", "peak_flops", "model_params", "train_tokens_per_s", "mfu")
    if student.device.type != "cuda":
        return dict.fromkeys(keys)
    name = torch.cuda.get_device_name(student.device)
    # parameters() yields tied weights once; LoRA adapter weights are left out
    params = sum(p.numel() for n, p in student.model.named_parameters() if "lora_" not in n)
    peak = peak_flops(name)
    return {
        "gpu": name,
        "peak_flops": peak,
        "model_params": params,
        "train_tokens_per_s": round(tokens_per_s, 1),
        "mfu": round(6 * params * tokens_per_s / peak, 4) if peak else None,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--student", default="embedded")
    parser.add_argument("--val-per-skill", type=int, default=5)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument(
        "--eval-backend", default="transformers", choices=("transformers", "vllm", "auto")
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()  # before the heavy imports, so --help is instant

    import torch

    from societygym.agents.teachers import NoStateTeacher
    from societygym.envs.dataenv.open_ended_env import OpenEndedEnv
    from societygym.envs.dataenv.students import HFStudent
    from societygym.envs.dataenv.trainer import TrainConfig

    # the env's own default student, built here to choose its evaluation backend
    student = HFStudent(
        args.student, train_config=TrainConfig(epochs=1), eval_backend=args.eval_backend
    )
    env = OpenEndedEnv(
        student=student,
        val_per_skill=args.val_per_skill,
        test_per_skill=1,
        max_examples=10 * args.examples,
    )
    start = time.perf_counter()
    obs, info = env.reset(seed=0)
    reset_s = time.perf_counter() - start
    before = info["validation"]["accuracy"]
    data = NoStateTeacher(examples_per_step=args.examples, seed=0).act(obs, info)
    start = time.perf_counter()
    _, _, _, _, info = env.step(data)
    step_s = time.perf_counter() - start
    train_s = info["train"]["seconds"]

    pairs = [(e["instruction"], e["response"]) for e in data]
    student, config = env.student, env.student.config.__class__(epochs=1)
    ours = []
    for _ in range(2):
        student.reset()
        ours.append(student.train(pairs, seed=0, epochs=1).tokens_per_second)
    student.reset()
    trl_tps, trl_tokens = trl_tokens_per_second(student, pairs, config)
    student.reset()
    ours.append(student.train(pairs, seed=0, epochs=1).tokens_per_second)
    best = max(ours[1:])  # the first call pays one-time warm-up
    print(
        json.dumps(
            {
                "benchmark": "dataenv_step",
                "device": str(student.device),
                "eval_backend": student.eval_backend,
                "torch_threads": torch.get_num_threads(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "student": args.student,
                "validation_items": len(env.validation),
                "examples": len(data),
                "reset_eval_s": round(reset_s, 2),
                "step_s": round(step_s, 2),
                "step_train_s": round(train_s, 2),
                "step_eval_s": round(step_s - train_s, 2),
                "train_tokens": info["train"]["tokens"],
                "ours_tokens_per_s": [round(x, 1) for x in ours],
                "trl_tokens_per_s": round(trl_tps, 1),
                "trl_tokens": trl_tokens,
                "speedup_vs_trl": round(best / trl_tps, 3),
                **gpu_metrics(student, best),
                "val_accuracy_before_after": [before, info["validation"]["accuracy"]],
            }
        )
    )


if __name__ == "__main__":
    main()
