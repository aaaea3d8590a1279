"""The GPU code paths, checked for correctness and timed against the CPU in one process.

Each check runs a real code path on random models built from configs (nothing downloaded):
batched and continuous-batching generation (``TransformersLLM``, ``ContinuousDecoder``),
scoring, the student trainer (``HFStudent``, LoRA and full), the VLM student, the diffusers
text-to-image backend, TRL GRPO and the LACIE DPO baseline. It asserts what must hold on any
device (greedy batched output equals per-prompt output up to floating-point ties, CUDA and
CPU scores agree in fp32, losses fall, reset restores answers, default dtypes) and records
throughput. Results go to ``--out`` as JSON, rewritten after every check, so a run cut short
keeps what it finished; the exit status is 1 when a check failed.

    python benchmarks/gpu_check.py --out gpu_check.json                   # on a CUDA machine
    python benchmarks/gpu_check.py --device cpu --small --out /tmp/c.json  # the same code, tiny

The "bench" model has SmolLM2-135M's shape (30 layers, hidden 576, 9 heads, 3 KV heads) with
the tiny model's 1027-token vocabulary, so timings reflect a 135M transformer body with a
cheap output layer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# tie tolerance: two runs may pick different argmax tokens only where the chosen tokens'
# log-probabilities are this close (a floating-point tie); fp32 vs bf16 noise
TIE_TOLERANCE = {"float32": 1e-3, "bfloat16": 0.1}
ATTENTION = {False: "library (no cuDNN)", True: "torch default (cuDNN allowed)"}
SYSTEM = "You answer questions about colours, shapes and animals briefly and exactly. " * 2


@dataclass
class Context:
    device: str
    small: bool
    folder: Path
    tiny_dir: Path
    bench_dir: Path

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(device: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return result, time.perf_counter() - start


@contextlib.contextmanager
def torch_default_attention(enabled: bool) -> Iterator[None]:
    """While ``enabled``, the library's forward passes use torch's own attention-kernel choice
    (cuDNN allowed), as before ``torch_runtime.attention_kernels``: the baseline it is timed
    against."""
    from societygym.llm import torch_runtime

    saved = torch_runtime.attention_kernels
    if enabled:
        torch_runtime.attention_kernels = contextlib.nullcontext
    try:
        yield
    finally:
        torch_runtime.attention_kernels = saved


def build_bench_dir(path: Path, tokenizer_dir: Path, small: bool) -> Path:
    """A random Llama (SmolLM2-135M's body, or 4 small layers) with the tiny tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    shape = (
        dict(hidden_size=128, intermediate_size=256, num_hidden_layers=4, num_attention_heads=4)
        if small
        else dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30)
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        num_attention_heads=shape.pop("num_attention_heads", 9),
        num_key_value_heads=3 if not small else 2,
        max_position_embeddings=2048,
        initializer_range=0.05,  # peaked enough that greedy ties are rare
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **shape,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def prompts(count: int) -> list[Any]:
    """Chat prompts sharing a long system prompt (the shared-prefix prefill) mixed with plain
    texts of very different lengths (left padding and realignment)."""
    words = ["red", "circle", "blue", "square", "green", "star", "cat", "dog", "horse", "moon"]
    out: list[Any] = []
    for i in range(count):
        topic = " ".join(words[(i * 3 + k) % len(words)] for k in range(1 + i % 5))
        if i % 3:
            out.append([{"role": "system", "content": SYSTEM}, {"role": "user", "content": topic}])
        else:
            out.append(f"Q{i}: what is a {topic}? " * (1 + i % 4))
    return out


def compare(a: Sequence[Any], b: Sequence[Any], tolerance: float) -> dict[str, Any]:
    """Token-by-token agreement of two lists of ``Generation``: identical rows, rows that
    diverge at a tie (both runs' chosen tokens within ``tolerance`` in log-probability), and
    the largest log-probability difference over the tokens both runs share."""
    identical = ties = other = 0
    largest = 0.0
    for x, y in zip(a, b, strict=True):
        common = next(
            (i for i, (s, t) in enumerate(zip(x.token_ids, y.token_ids, strict=False)) if s != t),
            min(len(x.token_ids), len(y.token_ids)),
        )
        diffs = [abs(p - q) for p, q in zip(x.logprobs[:common], y.logprobs[:common], strict=True)]
        largest = max([largest, *diffs])
        if x.token_ids == y.token_ids:
            identical += 1
        elif abs(x.logprobs[common] - y.logprobs[common]) < tolerance:
            ties += 1
        else:
            other += 1
    return {
        "rows": len(a),
        "identical": identical,
        "diverged_at_tie": ties,
        "diverged_otherwise": other,
        "max_logprob_diff": largest,
    }


def largest_difference(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    return max(abs(x - y) for r, s in zip(a, b, strict=True) for x, y in zip(r, s, strict=True))


def llm(ctx: Context, model_dir: Path, dtype: str | None, device: str | None = None, **kw: Any):
    from societygym.llm.transformers_backend import TransformersLLM

    return TransformersLLM(model_dir, device=device or ctx.device, dtype=dtype, **kw)


# --- checks --------------------------------------------------------------------------------


def check_generation(ctx: Context) -> dict[str, Any]:
    """Greedy generate(): batched with refills == one prompt at a time, in fp32 (asserted)
    and bf16 (recorded); CUDA fp32 == CPU fp32; the default dtype is bf16 on CUDA."""
    import torch

    from societygym.llm.base import SamplingParams

    max_tokens = 24
    texts = prompts(12)
    out: dict[str, Any] = {}
    dtypes = ["float32", "bfloat16"] if ctx.cuda else ["float32"]
    runs = {}
    for dtype in dtypes:
        model = llm(ctx, ctx.bench_dir, dtype, batch_size=5)
        alone = [model.generate([p], max_tokens=max_tokens)[0][0] for p in texts]
        batched = [g[0] for g in model.generate(texts, max_tokens=max_tokens)]
        # late submissions: a new prompt joins the running batch whenever a row finishes
        decoder = model.decoder(SamplingParams(max_tokens=max_tokens), slots=4)
        queue = list(enumerate(texts))
        for tag, prompt in queue[:2]:
            decoder.submit(model.encode(prompt), tag)
        queue = queue[2:]
        late: dict[int, Any] = {}
        steps = 0
        while decoder.busy:
            finished = decoder.step()
            late.update(finished)
            steps += 1
            if queue and (finished or steps % 5 == 0):
                tag, prompt = queue.pop(0)
                decoder.submit(model.encode(prompt), tag)
        late_list = [late[i] for i in range(len(texts))]
        tol = TIE_TOLERANCE[dtype]
        out[dtype] = {
            "batched_vs_alone": compare(batched, alone, tol),
            "late_vs_alone": compare(late_list, alone, tol),
            "finite": all(math.isfinite(lp) for g in batched for lp in g.logprobs),
        }
        runs[dtype] = alone
        del model
    for key in ("batched_vs_alone", "late_vs_alone"):
        assert out["float32"][key]["diverged_otherwise"] == 0, out["float32"][key]
        assert out["float32"][key]["max_logprob_diff"] < TIE_TOLERANCE["float32"], out
    assert all(v["finite"] for v in out.values() if isinstance(v, dict))
    if ctx.cuda:
        cpu = llm(ctx, ctx.bench_dir, "float32", device="cpu", batch_size=5)
        cpu_alone = [cpu.generate([p], max_tokens=max_tokens)[0][0] for p in texts]
        out["cuda_fp32_vs_cpu_fp32"] = compare(runs["float32"], cpu_alone, 1e-3)
        assert out["cuda_fp32_vs_cpu_fp32"]["diverged_otherwise"] == 0, out
        out["bf16_vs_fp32_alone"] = compare(runs["bfloat16"], runs["float32"], 0.1)
        default = llm(ctx, ctx.bench_dir, None)
        out["default_dtype"] = str(default.model.dtype)
        expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
        assert default.model.dtype == expected
    return out


def check_scoring(ctx: Context) -> dict[str, Any]:
    """score_batch (one-token and multi-token continuations) and token_logprobs on the device
    against fp32 on the CPU."""
    texts = prompts(16)
    conts = [[" yes", " no", " the red circle is blue", " Paris"] for _ in texts]
    echo = ["The cat sees a red circle. " * (1 + i % 3) for i in range(8)]
    cpu = llm(ctx, ctx.bench_dir, "float32", device="cpu")
    want = cpu.score_batch(texts, conts)
    want_echo = [t.logprobs[1:] for t in cpu.token_logprobs(echo)]
    out: dict[str, Any] = {}
    for dtype in ["float32", "bfloat16"] if ctx.cuda else ["float32"]:
        model = llm(ctx, ctx.bench_dir, dtype)
        got = model.score_batch(texts, conts)
        got_echo = [t.logprobs[1:] for t in model.token_logprobs(echo)]
        score_diff = largest_difference(got, want)
        echo_diff = largest_difference(got_echo, want_echo)
        out[dtype] = {"max_score_diff": score_diff, "max_token_logprob_diff": echo_diff}
    assert out["float32"]["max_score_diff"] < 2e-3, out
    assert out["float32"]["max_token_logprob_diff"] < 1e-3, out
    return out


def throughput(
    ctx: Context, device: str, dtype: str, rows: int, tokens: int, batch: int, cudnn: bool = False
) -> dict[str, Any]:
    model = llm(ctx, ctx.bench_dir, dtype, device=device, batch_size=batch)
    texts = prompts(rows)
    with torch_default_attention(cudnn):
        model.generate(texts[: min(4, rows)], max_tokens=4, ignore_eos=True)  # warm-up
        gens, seconds = timed(
            device, lambda: model.generate(texts, max_tokens=tokens, ignore_eos=True)
        )
    made = sum(g[0].completion_tokens for g in gens)
    return {
        "device": device,
        "dtype": dtype,
        "attention": ATTENTION[cudnn],
        "prompts": rows,
        "max_tokens": tokens,
        "slots": batch,
        "seconds": round(seconds, 3),
        "completion_tokens_per_s": round(made / seconds, 1),
    }


def score_throughput(
    ctx: Context, device: str, dtype: str, rows: int, cudnn: bool = False
) -> dict[str, Any]:
    model = llm(ctx, ctx.bench_dir, dtype, device=device, score_batch_size=64)
    texts = prompts(rows)
    conts = [[" the red circle", " a blue square and a cat"] for _ in texts]
    with torch_default_attention(cudnn):
        model.score_batch(texts[:4], conts[:4])
        _, seconds = timed(device, lambda: model.score_batch(texts, conts))
    return {
        "device": device,
        "dtype": dtype,
        "attention": ATTENTION[cudnn],
        "pairs": 2 * rows,
        "pairs_per_s": round(2 * rows / seconds, 1),
    }


def check_throughput(ctx: Context) -> dict[str, Any]:
    """Greedy decoding and scoring speed: the device (bf16 and fp32, 64 slots and 1) against
    fp32 on the CPU, on the bench model."""
    small = ctx.small
    out: dict[str, Any] = {"generate": [], "score": []}
    if ctx.cuda:
        generate = out["generate"]
        generate.append(throughput(ctx, ctx.device, "bfloat16", 128, 64, 64))
        generate.append(throughput(ctx, ctx.device, "bfloat16", 128, 64, 64, cudnn=True))
        generate.append(throughput(ctx, ctx.device, "float32", 128, 64, 64))
        generate.append(throughput(ctx, ctx.device, "bfloat16", 128, 64, 128))
        generate.append(throughput(ctx, ctx.device, "bfloat16", 4, 64, 1))
        generate.append(throughput(ctx, ctx.device, "bfloat16", 4, 64, 1, cudnn=True))
        out["score"].append(score_throughput(ctx, ctx.device, "bfloat16", 512))
        out["score"].append(score_throughput(ctx, ctx.device, "bfloat16", 512, cudnn=True))
    rows = 4 if small else 16
    out["generate"].append(throughput(ctx, "cpu", "float32", rows, 16 if small else 32, rows))
    out["score"].append(score_throughput(ctx, "cpu", "float32", 8 if small else 64))
    return out


def student_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    import random

    rng = random.Random(seed)
    colours = ["red", "green", "blue", "yellow"]
    shapes = ["circle", "square", "star"]
    pairs = []
    for _ in range(count):
        c, s = rng.choice(colours), rng.choice(shapes)
        pairs.append((f"What colour is the {s} of colour {c}?", f"The {s} is {c}."))
    return pairs


def check_student(ctx: Context) -> dict[str, Any]:
    """HFStudent (LoRA on the bench model, full on the tiny one): training lowers the loss,
    weights stay fp32, batched answers come back, reset restores them; device vs CPU speed."""
    import torch

    from societygym.envs.dataenv.students.hf import HFStudent
    from societygym.envs.dataenv.trainer import TrainConfig

    n = 16 if ctx.small else 256
    data = student_pairs(n, 0)
    questions = [q for q, _ in student_pairs(16 if ctx.small else 128, 1)]
    out: dict[str, Any] = {}
    runs = [
        (ctx.device, ctx.bench_dir, "lora", n, False),
        (ctx.device, ctx.tiny_dir, "full", n, False),
    ]
    if ctx.cuda:
        runs.append((ctx.device, ctx.bench_dir, "lora", n, True))
        runs.append(("cpu", ctx.bench_dir, "lora", 16 if ctx.small else 32, False))
    for device, folder, finetune, rows, cudnn in runs:
        config = TrainConfig(epochs=2, batch_size=16, learning_rate=2e-3, max_length=64)
        student = HFStudent(folder, finetune=finetune, train_config=config, device=device)
        asked = questions if device == ctx.device else questions[:16]
        assert all(p.dtype == torch.float32 for p in student.model.parameters())
        before, answer_s = timed(device, lambda s=student, q=asked: s.answer(q, 12))
        with torch_default_attention(cudnn):
            stats = student.train(data[:rows], seed=0)
        assert stats.losses[-1] < stats.losses[0], stats.losses
        after = student.answer(asked, 12)
        student.reset()
        again = student.answer(asked, 12)
        assert again == before, "reset did not restore the base model's answers"
        out[f"{device}-{finetune}-{folder.name}" + ("-cudnn" if cudnn else "")] = {
            "train": stats.to_dict(),
            "answers_changed": sum(a != b for a, b in zip(after, before, strict=True)),
            "answer_seconds": round(answer_s, 3),
            "answer_questions": len(asked),
        }
    return out


def check_vlm(ctx: Context) -> dict[str, Any]:
    """VLMStudent on a tiny LLaVA: LoRA training lowers the loss under bf16 autocast, answers
    decode, reset restores them."""
    import numpy as np

    from societygym.envs.dataenv.domains.vqa import scenes
    from societygym.envs.dataenv.domains.vqa.tiny_models import build_tiny_llava_dir
    from societygym.envs.dataenv.students.vlm import VLMStudent

    folder = build_tiny_llava_dir(ctx.folder / "llava")
    rng = np.random.default_rng(0)
    data = []
    for _ in range(16):
        scene, question, reply = scenes.sample("shape_presence", rng)
        data.append((scenes.render_array(scene, 32), question, reply))
    student = VLMStudent(
        str(folder), train_config={"epochs": 4, "learning_rate": 5e-3}, device=ctx.device
    )
    inputs = [(i, q) for i, q, _ in data]
    before = student.answer(inputs, max_new_tokens=3)
    stats, seconds = timed(ctx.device, lambda: student.train(data, seed=0))
    assert stats.losses[-1] < stats.losses[0], stats.losses
    student.reset()
    assert student.answer(inputs, max_new_tokens=3) == before
    with student._autocast():
        import torch

        autocast_dtype = str(torch.get_autocast_dtype("cuda")) if ctx.cuda else "off"
    return {
        "first_loss": stats.losses[0],
        "last_loss": stats.losses[-1],
        "train_seconds": round(seconds, 3),
        "autocast": autocast_dtype,
    }


def check_diffusers(ctx: Context) -> dict[str, Any]:
    """DiffusersBackend on a tiny Stable Diffusion: fp16 on CUDA, a description redrawn in the
    same batch gives the same image, finite non-constant images; how far a description drawn
    alone strays from its image drawn in a batch (exactly 0 on the CPU); images per second on
    the device and the CPU."""
    import numpy as np
    import torch
    from diffusers import AutoPipelineForText2Image

    from societygym.envs.dataenv.domains.vqa.text_to_image import DiffusersBackend
    from societygym.envs.dataenv.domains.vqa.tiny_models import build_tiny_diffusion_dir

    folder = build_tiny_diffusion_dir(ctx.folder / "sd")
    descriptions = [f"a red circle at top left and {i} blue squares" for i in range(32)]
    out: dict[str, Any] = {}
    variants = [(ctx.device, None), ("cpu", None)] if ctx.cuda else [(ctx.device, None)]
    if ctx.cuda:  # fp32 on the GPU too, to tell fp16 rounding from batch-shape effects
        pipe = AutoPipelineForText2Image.from_pretrained(str(folder), dtype=torch.float32)
        pipe.set_progress_bar_config(disable=True)
        variants.append((ctx.device, pipe.to(ctx.device)))
    for device, pipe in variants:
        backend = DiffusersBackend(
            str(folder), steps=4, resolution=64, batch_size=8, device=device, pipe=pipe
        )
        dtype = backend.pipe.unet.dtype
        if pipe is None:
            expected = torch.float16 if device.startswith("cuda") else torch.float32
            assert dtype == expected, dtype
        backend(descriptions[:2], size=32)  # warm-up
        images, seconds = timed(device, lambda b=backend: b(descriptions, size=32))
        same_batch = backend(descriptions[:8], size=32)
        assert all(np.array_equal(a, b) for a, b in zip(images, same_batch, strict=False))
        alone = backend(descriptions[:1], size=32)[0].astype(int)
        assert not np.array_equal(images[0], images[1])
        assert all(img.std() > 0 for img in images), "a constant image (NaN latents?)"
        out[f"{device}-{str(dtype).removeprefix('torch.')}"] = {
            "images": len(images),
            "images_per_s": round(len(images) / seconds, 2),
            "alone_vs_batch_max_abs_diff": int(np.abs(alone - images[0]).max()),
            "alone_vs_batch_mean_abs_diff": float(np.abs(alone - images[0]).mean()),
        }
    cpu = out["cpu-float32"]
    assert cpu["alone_vs_batch_max_abs_diff"] == 0, "the CPU must draw a description alike"
    return out


def check_grpo(ctx: Context) -> dict[str, Any]:
    """TRL GRPO + LoRA on Trivia-Calibration-v0 with the tiny model: on CUDA this is the bf16
    and gradient-checkpointing configuration; the command checks logged rewards itself."""
    import societygym  # noqa: F401  (registers the env ids)
    from societygym.integrations.trl_grpo import train_grpo

    out_dir = ctx.folder / "grpo"
    curve, seconds = timed(
        ctx.device,
        lambda: train_grpo(
            "Trivia-Calibration-v0",
            model=str(ctx.tiny_dir),
            steps=2,
            prompts_per_step=2,
            num_generations=2,
            max_completion_length=8,
            output_dir=out_dir,
        ),
    )
    assert len(curve) == 2 and (out_dir / "adapter_model.safetensors").is_file()
    return {"steps": len(curve), "seconds": round(seconds, 2), "curve": curve}


def check_lacie(ctx: Context) -> dict[str, Any]:
    """LACIE's DPO (bf16 on CUDA) on the tiny model, then the merged speaker on the device."""
    from societygym.baselines import lacie

    pairs = [
        {
            "prompt": f"Q: What is the capital of country {i}?\nA:",
            "chosen": " I'm certain it is Paris.",
            "rejected": " Maybe it is Rome, I am not sure.",
        }
        for i in range(8)
    ]
    path = lacie.export_dpo_jsonl(pairs, ctx.folder / "pairs.jsonl")
    out_dir = ctx.folder / "lacie"
    log, seconds = timed(
        ctx.device,
        lambda: lacie.train_dpo(
            path, model_dir=ctx.tiny_dir, output_dir=out_dir, max_steps=2, batch_size=2,
            grad_accum=1,
        ),
    )  # fmt: skip
    assert len(log) == 2 and all(math.isfinite(e["loss"]) for e in log), log
    speaker = lacie.load_speaker(out_dir, ctx.tiny_dir)
    [[gen]] = speaker.generate(["Q: What is the capital of France?\nA:"], max_tokens=8)
    assert gen.completion_tokens > 0
    return {"steps": len(log), "seconds": round(seconds, 2), "speaker_device": str(speaker.device)}


CHECKS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "generation": check_generation,
    "scoring": check_scoring,
    "student": check_student,
    "throughput": check_throughput,
    "vlm": check_vlm,
    "diffusers": check_diffusers,
    "grpo": check_grpo,
    "lacie": check_lacie,
}


def environment(device: str) -> dict[str, Any]:
    import importlib.metadata as metadata

    import torch

    info: dict[str, Any] = {"python": platform.python_version(), "device": device}
    for name in ("torch", "transformers", "peft", "accelerate", "trl", "diffusers"):
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = None
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
        info["capability"] = ".".join(map(str, torch.cuda.get_device_capability()))
        info["bf16"] = torch.cuda.is_bf16_supported()
    return info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--small", action="store_true", help="tiny sizes (a CPU smoke run)")
    parser.add_argument("--only", action="append", choices=sorted(CHECKS), help="run only these")
    parser.add_argument("--out", required=True, help="JSON results file")
    parser.add_argument(
        "--budget-s", type=float, default=math.inf, help="skip checks that start after this"
    )
    args = parser.parse_args(argv)

    from societygym.llm.tiny import build_tiny_llm_dir

    folder = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    start = time.perf_counter()
    tiny = build_tiny_llm_dir(folder / "tiny")
    ctx = Context(
        args.device, args.small, folder, tiny, build_bench_dir(folder / "bench", tiny, args.small)
    )
    report: dict[str, Any] = {"environment": environment(args.device), "checks": {}}
    print(f"models built in {time.perf_counter() - start:.1f}s", flush=True)
    for name in args.only or CHECKS:
        began = time.perf_counter()
        if began - start > args.budget_s:
            report["checks"][name] = {"ok": None, "skipped": "over --budget-s"}
            continue
        try:
            result = {"ok": True, **CHECKS[name](ctx)}
        except Exception as err:  # one failing path must not hide the others' results
            result = {"ok": False, "error": repr(err), "traceback": traceback.format_exc()}
        result["seconds"] = round(time.perf_counter() - began, 2)
        report["checks"][name] = result
        status = "ok" if result["ok"] else f"FAILED: {result['error']}"
        print(f"{name}: {status} ({result['seconds']}s)", flush=True)
        if not result["ok"]:
            print(result["traceback"], file=sys.stderr, flush=True)
        Path(args.out).write_text(json.dumps(report, indent=1, default=str))
    shutil.rmtree(folder, ignore_errors=True)
    Path(args.out).write_text(json.dumps(report, indent=1, default=str))
    return 0 if all(r["ok"] is not False for r in report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
