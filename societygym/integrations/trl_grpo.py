"""GRPO + LoRA on any societygym env with TRL: the worked example, as a command.

    python -m societygym.integrations.trl_grpo --env Trivia-Calibration-v0 --model embedded \
        --steps 8 --out runs/grpo-trivia

trains a LoRA adapter on the embedded SmolLM2 for a few steps on CPU and prints the reward
curve, one JSON line per optimizer step (the mean env reward of the step's completions and
its spread), then writes ``reward_curve.json`` and the adapter into ``--out``. Every reward is
the env's: ``EnvReward`` replays each prompt's episode and steps it with the completion, and
the command checks that what TRL logged is what the env returned.

The same command trains a real model on a GPU (bf16 there, and ``--use-vllm`` to generate
with vLLM colocated): ``--model hf:Qwen/Qwen2.5-1.5B-Instruct --steps 500``.

Multi-step envs (``TextCraft-v0``, ``Persuasion-v0``) train with ``--multi-turn``, through
TRL's ``environment_factory``: each completion is a whole episode, the model's turns
interleaved with the env's answers, and its reward is the episode return. ``--actions``
picks how a turn becomes an action (``tool_template``): ``tool_calls`` (the model calls the
``act`` tool; the default for models whose template does tool calls, e.g. Qwen3) or
``replies`` (each reply is the action; the default for ChatML models without tool calling,
such as the embedded SmolLM2). The command checks each step's logged reward against the
returns of the episodes the env played, and writes them to ``episodes.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from societygym.integrations.tool_template import with_tool_template
from societygym.integrations.trl import (
    REPLY_HINT,
    EnvReward,
    Episode,
    environment_factory,
    prompt_dataset,
)


def model_dir(spec: str) -> str:
    """``embedded``, ``tiny`` / ``tiny:<seed>``, ``hf:<folder or hub id>``, or a folder."""
    kind, _, arg = spec.partition(":")
    if spec == "embedded":
        from societygym.llm import embedded_model_dir

        return str(embedded_model_dir())
    if kind == "tiny":
        from societygym.llm import tiny_llm_dir

        return str(tiny_llm_dir(int(arg or 0)))
    return arg if kind == "hf" else spec


def train_grpo(
    env_id: str,
    *,
    model: str = "embedded",
    env_kwargs: dict[str, Any] | None = None,
    steps: int = 8,
    prompts_per_step: int = 2,
    num_generations: int = 4,
    max_completion_length: int = 48,
    max_turn_length: int | None = None,
    learning_rate: float = 5e-5,
    temperature: float = 1.0,
    lora_r: int = 16,
    lora_alpha: int = 32,
    multi_turn: bool = False,
    actions: str = "auto",
    metrics: Sequence[str] = (),
    use_vllm: bool = False,
    seed: int = 0,
    output_dir: str | Path = "runs/grpo",
    prompt: str | None = None,
    system: str | None = None,
    progress: bool = True,
    save_steps: int | None = None,
    micro_batch: int | None = None,
) -> list[dict[str, float]]:
    """Train for ``steps`` steps of ``prompts_per_step`` episodes x ``num_generations``
    completions; returns the reward curve (one entry per step) and saves the adapter.
    ``multi_turn`` plays each episode through ``actions`` (see the module) until it ends or
    its turns and the env's answers fill ``max_completion_length`` tokens; each reply has at
    most ``max_turn_length`` tokens (by default, whatever is left). ``prompt`` (a template
    with ``{observation}``) and ``system`` replace the LLM agent's prompt, as in
    ``LLMAgent``. ``progress`` prints one line per step (reward, seconds per step, time left)
    instead of the trainer's bar. ``save_steps`` checkpoints the adapter, optimizer and RNG
    every that many steps into ``output_dir`` and resumes from the latest checkpoint there:
    an interrupted run re-run with the same arguments continues where it stopped (the logged
    rewards of the steps it runs are checked against the env; ``episodes.jsonl`` holds
    those steps' episodes). ``micro_batch`` splits each step's completions into chunks
    of that many for the backward passes (gradient accumulation, one optimizer step): TRL's
    default loss normalizes by the whole generation batch's tokens, so the update is the
    same, and memory falls (a 4-turn TextCraft step of 16 took ~11 GB on CPU in one pass)."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    folder = model_dir(model)
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    batch = prompts_per_step * num_generations
    micro = micro_batch or batch
    if batch % micro:
        raise ValueError(f"micro_batch {micro} does not divide the step's {batch} completions")
    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    reward, episodes, factory, hint = None, [], None, False
    session = {k: v for k, v in (("prompt", prompt), ("system", system)) if v is not None}
    if multi_turn:
        actions = with_tool_template(tokenizer, actions)  # type: ignore[arg-type]
        hint = REPLY_HINT if actions == "replies" else True
        factory = environment_factory(env_id, env_kwargs, log=episodes, **session)
    else:
        reward = EnvReward(env_id, env_kwargs, metrics=metrics, **session)
    dataset = prompt_dataset(
        env_id,
        steps * prompts_per_step,
        seed=seed,
        env_kwargs=env_kwargs,
        tool_hint=hint,
        **session,
    )
    config = GRPOConfig(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=batch // micro,  # completions are generated per step
        num_generations=num_generations,
        max_completion_length=max_completion_length,
        # the per-turn cap: TRL generates each turn with the whole budget otherwise
        generation_kwargs=None
        if max_turn_length is None
        else {("max_tokens" if use_vllm else "max_new_tokens"): max_turn_length},
        temperature=temperature,
        learning_rate=learning_rate,
        seed=seed,
        bf16=bf16,  # TRL defaults to bf16, which is many times slower on CPUs
        use_cpu=not cuda,
        dataloader_pin_memory=cuda,
        # saves GPU memory on real models; on CPU, with small ones, it only costs time
        gradient_checkpointing=cuda,
        shuffle_dataset=False,  # step k trains on episodes k * prompts_per_step + ...
        use_vllm=use_vllm,
        vllm_mode="colocate",
        logging_steps=1,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        save_total_limit=1,
        report_to="none",
        disable_tqdm=progress,  # the progress lines replace the bar
    )
    policy = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.bfloat16 if bf16 else torch.float32
    )
    trainer = GRPOTrainer(
        model=policy,
        reward_funcs=[reward] if reward is not None else None,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=lora_r, lora_alpha=lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM"
        ),
        environment_factory=factory,
        callbacks=[ProgressLines(env_id)] if progress else None,
    )
    trainer.train(resume_from_checkpoint=latest_checkpoint(output_dir) if save_steps else None)
    trainer.save_model(str(output_dir))
    curve = reward_curve(trainer.state.log_history)
    if reward is not None:
        ran = [call["rewards"] for call in reward.history]
        check_logged_rewards(curve[len(curve) - len(ran) :], ran)
    else:
        per_step = episodes_per_step(episodes, batch)
        ran = [[e.episode_return for e in step] for step in per_step]
        check_logged_rewards(curve[len(curve) - len(ran) :], ran)
        for entry, step in zip(curve[len(curve) - len(ran) :], per_step, strict=True):
            entry["env/steps"] = sum(len(e.actions) for e in step) / len(step)
        with Path(output_dir, "episodes.jsonl").open("w") as f:
            f.writelines(json.dumps(asdict(e)) + "\n" for e in episodes)
    Path(output_dir, "reward_curve.json").write_text(json.dumps(curve, indent=1))
    return curve


def latest_checkpoint(output_dir: str | Path) -> str | None:
    """The newest ``checkpoint-<step>`` folder the trainer saved in ``output_dir``, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if Path(output_dir).is_dir() else None


class ProgressLines(TrainerCallback):
    """Prints a progress bar line per optimizer step: the step's mean reward and spread,
    seconds per step and the time left (a log file of a long run shows where it is)."""

    def __init__(self, label: str, width: int = 20) -> None:
        self.label = label
        self.width = width
        self.start = time.perf_counter()

    def on_train_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        self.start = time.perf_counter()
        self.first_step = state.global_step  # a resumed run starts past 0

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
        if not logs or "reward" not in logs:
            return
        print(progress_line(self.label, state.global_step - self.first_step, state.global_step,
                            state.max_steps, time.perf_counter() - self.start, logs, self.width),
              flush=True)  # fmt: skip


def progress_line(
    label: str,
    done_here: int,
    step: int,
    total: int,
    seconds: float,
    logs: dict[str, Any],
    width: int = 20,
) -> str:
    """``label [#####-----] step/total reward r (+-std) | s/step | left``; ``done_here`` of
    the steps ran in this process, in ``seconds``."""
    filled = round(width * step / max(total, 1))
    per_step = seconds / max(done_here, 1)
    left = per_step * (total - step)
    return (
        f"{label} [{'#' * filled}{'-' * (width - filled)}] {step}/{total} "
        f"reward {float(logs['reward']):.3f} (+-{float(logs.get('reward_std', 0.0)):.3f}) "
        f"| {per_step:.0f} s/step | {left / 60:.0f} min left"
    )


def reward_curve(log_history: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """The per-step reward entries of a GRPO log: mean, std, and each env metric."""
    keep = ("reward", "reward_std", "loss", "completions/mean_length")
    return [
        {
            "step": int(entry["step"]),
            **{
                k: float(v)
                for k, v in entry.items()
                if k in keep or k.startswith(("env/", "rewards/", "tools/"))
            },
        }
        for entry in log_history
        if "reward" in entry and "step" in entry
    ]


def check_logged_rewards(
    curve: Sequence[dict[str, float]], rewards: Sequence[Sequence[float]]
) -> None:
    """Raise unless each step's logged mean reward is the mean of what the env returned
    for that step's completions (``rewards[k]``: one per completion of step ``k``).

    A single process generates once per step, so call ``k`` of an ``EnvReward`` scored step
    ``k``, and in a multi-turn run step ``k`` played episodes ``k * batch`` on."""
    if len(rewards) != len(curve):
        raise AssertionError(f"env rewards for {len(rewards)} steps, {len(curve)} logged steps")
    for entry, step in zip(curve, rewards, strict=True):
        mean = sum(step) / len(step)
        if not math.isclose(entry["reward"], mean, rel_tol=1e-5, abs_tol=1e-6):
            raise AssertionError(f"step {entry['step']}: logged {entry['reward']}, env {mean}")


def episodes_per_step(episodes: Sequence[Episode], batch: int) -> list[list[Episode]]:
    """The episodes of a multi-turn run (one env reset per completion), step by step."""
    if len(episodes) % batch:
        raise AssertionError(f"{len(episodes)} episodes is not a whole number of {batch}-batches")
    return [list(episodes[i : i + batch]) for i in range(0, len(episodes), batch)]


def main(argv: Sequence[str] | None = None) -> None:
    from societygym.agents import parse_kv

    parser = argparse.ArgumentParser(prog="python -m societygym.integrations.trl_grpo")
    parser.add_argument("--env", default="Trivia-Calibration-v0", help="a societygym env id")
    parser.add_argument("--env-arg", action="append", help="env keyword argument k=v")
    parser.add_argument("--model", default="embedded", help="embedded, tiny, hf:<dir or id>")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps")
    parser.add_argument("--prompts-per-step", type=int, default=2)
    parser.add_argument("--num-generations", type=int, default=4, help="GRPO group size")
    parser.add_argument("--max-completion-length", type=int, default=48)
    parser.add_argument(
        "--max-turn-length", type=int, help="multi-turn: tokens per reply (default: all left)"
    )
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument(
        "--metric", action="append", help="info key to log (trivia: correct, accepted)"
    )
    parser.add_argument(
        "--multi-turn", action="store_true", help="play whole episodes (multi-step envs)"
    )
    parser.add_argument(
        "--actions",
        choices=["auto", "tool_calls", "replies"],
        default="auto",
        help="multi-turn: the model calls the act tool, or each reply is the action",
    )
    parser.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/grpo")
    parser.add_argument(
        "--save-steps", type=int, help="checkpoint every N steps; a re-run resumes from --out"
    )
    parser.add_argument(
        "--micro-batch", type=int, help="completions per backward pass (same update, less memory)"
    )
    args = parser.parse_args(argv)
    metrics = args.metric
    if metrics is None:
        metrics = ["correct", "accepted"] if args.env.startswith("Trivia-Calibration") else []
    start = time.perf_counter()
    curve = train_grpo(
        args.env,
        model=args.model,
        env_kwargs=parse_kv(args.env_arg),
        steps=args.steps,
        prompts_per_step=args.prompts_per_step,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        max_turn_length=args.max_turn_length,
        learning_rate=args.lr,
        temperature=args.temperature,
        lora_r=args.lora_r,
        lora_alpha=2 * args.lora_r,
        multi_turn=args.multi_turn,
        actions=args.actions,
        metrics=metrics,
        use_vllm=args.use_vllm,
        seed=args.seed,
        output_dir=args.out,
        save_steps=args.save_steps,
        micro_batch=args.micro_batch,
    )
    for entry in curve:
        print(json.dumps(entry))
    print(f"{len(curve)} steps in {time.perf_counter() - start:.0f}s; adapter -> {args.out}")


if __name__ == "__main__":
    main()
