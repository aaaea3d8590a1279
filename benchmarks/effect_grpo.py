"""Can GRPO teach the embedded model our envs? Learning curves and held-out accuracy before
and after, on one single-step env and one multi-step env, at a difficulty where the reward
moves.

Tasks (each an env and a slice of it the 135M model sometimes gets right, so that a GRPO
group's samples differ in reward; a group where all samples tie teaches nothing):

- ``Trivia-Calibration-v0`` with its calibrated default reward, on the capital families
  (``capital-of``, ``country-with-capital``, ``state-capital-of``): trained on the train
  split, held out on the test split. ``correct`` is the accuracy.
- ``TextCraft-v0`` on depth-1 goals (one craft from raw items), no distractor recipes, at
  most ``textcraft_max_steps`` commands, played turn by turn (TRL's multi-turn environment,
  each reply a command); every fourth goal is held out. The prompt states the command
  grammar with one worked example (ADaPT prompts with examples too): without it the model
  never writes a ``get`` command. ``success`` is the accuracy. Even so the base model
  crafts nothing (0 of 32 samples; every group ties at 0), so GRPO starts from a warm-up:
  LoRA SFT on the recipe planner's command sequences for training goals (``warmup_*``),
  as DeepSeekMath runs GRPO over an SFT model. "base" in its rows is that warmed-up model;
  the results' ``warmup`` holds the pretrained model's numbers.

Stages per task (each checkpointed under ``--workdir/<env id>``; re-running resumes):

0. ``warmup`` (TextCraft): the SFT model GRPO starts from, shared by every seed.
1. ``variance``: the base model samples ``num_generations`` completions of a few training
   prompts at the training temperature; the share of groups whose rewards differ is what
   GRPO can learn from.
2. ``eval/base``: the base model, greedy, on ``eval_episodes`` held-out episodes.
3. per seed: ``seed<k>/`` GRPO + LoRA (``reward_curve.json`` marks it done), then
   ``eval/trained-seed<k>.json`` (greedy, same episodes).

Rows: held-out accuracy and mean reward, and the training reward of the first vs the last
quarter of steps; base and trained are means over seeds, ``diff`` the mean per-seed
difference with a 95% Student-t interval over seeds (the held-out episodes are fixed and
greedy decoding is deterministic, so the interval is the spread over training seeds).
Writes ``effect_grpo_<env id>.json`` and a learning-curve ``.png`` into ``--results`` after
every seed (``"partial": true`` until all seeds are done).

    python benchmarks/effect_grpo.py            # default size, a few hours on 2 shared cores
    python benchmarks/effect_grpo.py --quick    # minutes: tiny model, two steps per seed
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from effect_rows import effect_row
from torch_threads import add_threads_argument, use_threads

import societygym  # noqa: F401  (registers the ids)
from societygym.integrations.trl import (
    REPLY_HINT,
    EnvReward,
    Episode,
    environment_factory,
    prompt_dataset,
)

RESULTS = Path(__file__).resolve().parent / "results"
TRIVIA_FAMILIES = ("capital-of", "country-with-capital", "state-capital-of")
TEXTCRAFT_PROMPT = (
    "You craft Minecraft items with commands, one command per reply:\n"
    "get N item (gather a raw item), craft N item using N a, N b (use a recipe), inventory.\n"
    "Example. Crafting commands:\ncraft 4 oak planks using 1 oak log\n\nGoal: craft oak planks.\n"
    "Replies: get 1 oak log\ncraft 4 oak planks using 1 oak log\n\n{observation}"
)
EVAL_SEED = 10_000  # held-out episodes are keyed (EVAL_SEED, i); training uses (seed, i)
WARMUP_SEED = 20_000  # the warm-up's demonstration episodes (training goals)


@dataclasses.dataclass(frozen=True)
class Config:
    model: str = "embedded"  # "embedded" (SmolLM2-135M) or "tiny" (random, for tests)
    tasks: tuple[str, ...] = ("Trivia-Calibration-v0", "TextCraft-v0")
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 30
    # a TextCraft step plays 4 turns (a generate call each) and trains on longer sequences:
    # ~125 CPU s against trivia's ~35, so fewer steps fit a CPU budget
    textcraft_steps: int = 20
    # backward passes over 4 of a step's 16 completions at a time (same update, see
    # ``train_grpo``): in one pass a TextCraft step took ~11 GB, two seeds did not fit in 23
    textcraft_micro_batch: int = 4
    prompts_per_step: int = 4
    num_generations: int = 4
    learning_rate: float = 2e-4
    temperature: float = 1.0
    lora_r: int = 16
    eval_episodes: int = 64
    variance_prompts: int = 8
    trivia_max_tokens: int = 32
    textcraft_max_steps: int = 4
    textcraft_turn_tokens: int = 20
    textcraft_max_tokens: int = 160  # the whole episode's replies and env answers
    # The warm-up before GRPO on TextCraft (the base model never crafts a goal, so no group
    # differs in reward): LoRA SFT on the planner's command sequences for this many training
    # episodes, merged into the model GRPO starts from; 0 skips it.
    # (Pilot: 30 steps at 1e-4 on attention q/v only left the model echoing the recipe.)
    warmup_episodes: int = 108
    warmup_steps: int = 60
    warmup_batch: int = 8
    warmup_learning_rate: float = 5e-4
    save_steps: int = 5  # a checkpoint every 5 steps; an interrupted seed resumes there
    # Skip training a task where no base group's rewards differ: GRPO's advantages would all
    # be 0. Off for the quick run, whose random tiny model only checks the plumbing.
    require_signal: bool = True


QUICK = Config(
    model="tiny",
    steps=2,
    prompts_per_step=2,
    num_generations=2,
    eval_episodes=4,
    variance_prompts=2,
    trivia_max_tokens=8,
    textcraft_max_steps=2,
    textcraft_turn_tokens=6,
    textcraft_max_tokens=40,
    save_steps=1,
    require_signal=False,
    textcraft_steps=2,
    textcraft_micro_batch=2,
    warmup_episodes=4,
    warmup_steps=1,
    warmup_batch=2,
)


@dataclasses.dataclass(frozen=True)
class Task:
    """One env slice of the experiment."""

    env_id: str
    train_kwargs: dict[str, Any]
    eval_kwargs: dict[str, Any]
    success: str  # the info key (trivia) or "success" (episode return 1) that is accuracy
    multi_turn: bool
    max_tokens: int  # single-step: the completion; multi-turn: the whole episode
    steps: int  # GRPO steps per seed
    micro_batch: int | None = None  # ``train_grpo``'s; None: the whole step at once
    turn_tokens: int | None = None
    max_turns: int = 1
    prompt: str | None = None
    describe: str = ""
    warmup: bool = False  # SFT on planner demonstrations before GRPO (``stage_warmup``)


def make_task(env_id: str, config: Config) -> Task:
    if env_id == "Trivia-Calibration-v0":
        from societygym.envs.trivia.data import load_embedded

        return Task(
            env_id,
            {"questions": load_embedded("train", TRIVIA_FAMILIES)},
            {"questions": load_embedded("test", TRIVIA_FAMILIES)},
            success="correct",
            multi_turn=False,
            max_tokens=config.trivia_max_tokens,
            steps=config.steps,
            describe=f"embedded trivia, families {', '.join(TRIVIA_FAMILIES)}; train/test split",
        )
    if env_id == "TextCraft-v0":
        train, held_out = textcraft_goals()
        return Task(
            env_id,
            textcraft_kwargs(train, config.textcraft_max_steps),
            textcraft_kwargs(held_out, config.textcraft_max_steps),
            success="success",
            multi_turn=True,
            max_tokens=config.textcraft_max_tokens,
            steps=config.textcraft_steps,
            micro_batch=config.textcraft_micro_batch,
            turn_tokens=config.textcraft_turn_tokens,
            max_turns=config.textcraft_max_steps,
            prompt=TEXTCRAFT_PROMPT,
            describe=f"depth-1 goals, no distractors, {config.textcraft_max_steps} steps; "
            f"{len(train)} train goals, {len(held_out)} held out",
            warmup=config.warmup_episodes > 0,
        )
    raise ValueError(f"no GRPO task for {env_id!r}: use Trivia-Calibration-v0 or TextCraft-v0")


def textcraft_goals() -> tuple[list[str], list[str]]:
    """Depth-1 goals (crafted from raw items in one step); every fourth one is held out."""
    from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION
    from societygym.envs.programs.textcraft.worlds import load_rules

    book = load_rules(DEFAULT_VERSION, "minecraft")
    goals = sorted(item for item, depth in book.depth.items() if depth == 1)
    return [g for i, g in enumerate(goals) if i % 4], goals[::4]


def textcraft_kwargs(goals: Sequence[str], max_steps: int) -> dict[str, Any]:
    from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION
    from societygym.envs.programs.textcraft.tasks import make_task as make_textcraft_task
    from societygym.envs.programs.textcraft.worlds import load_rules

    book = load_rules(DEFAULT_VERSION, "minecraft")
    tasks = [make_textcraft_task(book, goal, 0, num_distractors=0) for goal in goals]
    return {"tasks": tasks, "world": "minecraft", "max_steps": max_steps}


def log(message: str) -> None:
    print(f"[effect_grpo {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- playing episodes with an LLM backend (evaluation and the variance probe) --------------


def play(
    llm: Any,
    task: Task,
    kwargs: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    temperature: float,
    seed: int,
) -> list[dict[str, float]]:
    """Each row's episode (of the env made with ``kwargs``) played once by ``llm``:
    ``reward``, ``success`` and the ``actions`` taken per episode, through the prompts,
    protocol and env replies of training."""
    if task.multi_turn:
        return _play_turns(llm, task, kwargs, rows, temperature, seed)
    generations = llm.generate(
        [r["prompt"] for r in rows],
        max_tokens=task.max_tokens,
        temperature=temperature,
        seed=seed,
    )
    reward = EnvReward(task.env_id, kwargs)
    rewards = reward(
        [r["prompt"] for r in rows],
        [g[0].text for g in generations],
        [r["seed"] for r in rows],
        [r["index"] for r in rows],
        [r["observation"] for r in rows],
    )
    call = reward.history[-1]
    return [
        {"reward": r, "success": float(bool(info[task.success])), "actions": [text]}
        for r, info, text in zip(rewards, call["infos"], call["completions"], strict=True)
    ]


def _play_turns(
    llm: Any,
    task: Task,
    kwargs: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    temperature: float,
    seed: int,
) -> list[dict[str, float]]:
    """Replies protocol: each reply is a command, the env's answer the next user turn; an
    empty reply, the env's end or the token budget ends the episode (as in training)."""
    episodes: list[Episode] = []
    make = environment_factory(task.env_id, kwargs, log=episodes, prompt=task.prompt)
    envs = [make() for _ in rows]
    chats = [list(r["prompt"]) for r in rows]
    spent = [0] * len(rows)
    for env, row in zip(envs, rows, strict=True):
        env.reset(row["seed"], row["index"])
    live = list(range(len(rows)))
    for turn in range(task.max_turns):
        live = [i for i in live if not episodes[i].done and spent[i] < task.max_tokens]
        if not live:
            break
        budget = task.turn_tokens or task.max_tokens
        generations = llm.generate(
            [chats[i] for i in live],
            max_tokens=budget,
            temperature=temperature,
            seed=seed + turn,
        )
        for i, generation in zip(live, generations, strict=True):
            text = generation[0].text.strip()
            spent[i] += generation[0].completion_tokens
            if not text:
                spent[i] = task.max_tokens  # an empty reply ends the turns
                continue
            answer = envs[i].act(text)
            spent[i] += len(llm.tokenizer(answer).input_ids)
            chats[i] += [
                {"role": "assistant", "content": text},
                {"role": "user", "content": answer},
            ]
    return [
        {
            "reward": e.episode_return,
            "success": float(e.done and e.episode_return >= 1.0),
            "actions": e.actions,
        }
        for e in episodes
    ]


def load_policy(model: str, task: Task, adapter: Path | None) -> Any:
    """``model`` (a ``model_dir`` spec; with ``adapter`` merged) as an LLM backend;
    multi-turn tasks get the replies chat template their training used."""
    from societygym.baselines.lacie import load_speaker
    from societygym.integrations.tool_template import with_tool_template
    from societygym.integrations.trl_grpo import model_dir

    llm = load_speaker(adapter, model_dir(model))
    if task.multi_turn:
        with_tool_template(llm.tokenizer, "replies")
    return llm


def task_rows(task: Task, count: int, seed: int, kwargs: dict[str, Any]) -> list[dict]:
    hint = REPLY_HINT if task.multi_turn else False
    session = {"prompt": task.prompt} if task.prompt else {}
    dataset = prompt_dataset(
        task.env_id, count, seed=seed, env_kwargs=kwargs, tool_hint=hint, **session
    )
    return list(dataset)


# --- stages ------------------------------------------------------------------------------


def cached(path: Path, compute: Callable[[], Any]) -> Any:
    """``path``'s JSON, or ``compute()`` written there (atomically) first."""
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(value, indent=1))
    path.with_suffix(".tmp").rename(path)
    return value


def demonstrations(task: Task, kwargs: dict[str, Any], rows: Sequence[dict]) -> list[dict]:
    """The TextCraft planner's command sequence for each row's goal, played through the
    training protocol (each command a reply, the env's answer the next user turn), as
    prompt-completion SFT rows: one per command, its prompt the conversation so far. A goal
    whose plan is longer than the episode's step limit is left out."""
    from societygym.envs.programs.textcraft.planner import solve
    from societygym.integrations.trl import environment_factory

    make = environment_factory(task.env_id, kwargs, prompt=task.prompt)
    out = []
    for row in rows:
        env = make()
        env.reset(row["seed"], row["index"])
        game = env.env.unwrapped
        chat, plan = list(row["prompt"]), solve(game.task.goal, game.book)
        if len(plan) > game.max_steps:
            continue
        for command in plan:
            reply = {"role": "assistant", "content": command}
            out.append({"prompt": list(chat), "completion": [reply]})
            chat += [reply, {"role": "user", "content": env.act(command)}]
        if env.get_reward() < 1.0:
            raise RuntimeError(f"the planner did not craft {game.task.goal!r}: {chat[-1]}")
    if not out:
        raise ValueError(f"no planner solution fits in {kwargs.get('max_steps')} steps")
    return out


def stage_warmup(config: Config, task: Task, work: Path) -> str:
    """The model GRPO starts from: ``config.model``, or for a warm-up task that model after
    LoRA SFT on planner demonstrations (``warmup/model``, merged; built once, shared by
    every seed)."""
    from sft_lora import sft_lora

    from societygym.integrations.tool_template import chat_template
    from societygym.integrations.trl_grpo import model_dir

    if not task.warmup:
        return config.model
    out = work / "warmup" / "model"
    if not (out / "config.json").exists():
        rows = task_rows(task, config.warmup_episodes, WARMUP_SEED, task.train_kwargs)
        demos = demonstrations(task, task.train_kwargs, rows)
        log(f"{task.env_id} warm-up: {config.warmup_steps} SFT steps on {len(demos)} planner "
            f"commands from {len(rows)} training episodes")  # fmt: skip
        start = time.perf_counter()
        losses = sft_lora(
            demos,
            model_dir(config.model),
            out,
            steps=config.warmup_steps,
            batch_size=config.warmup_batch,
            learning_rate=config.warmup_learning_rate,
            seed=WARMUP_SEED,
            chat_template=chat_template("replies"),
            lora_r=config.lora_r,
            target_modules="all-linear",  # as GRPO's LoRA
        )
        summary = {
            "episodes": sum(len(d["prompt"]) == 1 for d in demos),  # each one's first command
            "commands": len(demos),
            "steps": config.warmup_steps,
            "loss_first": losses[0]["loss"],
            "loss_last": losses[-1]["loss"],
            "seconds": round(time.perf_counter() - start),
        }
        (work / "warmup" / "summary.json").write_text(json.dumps(summary, indent=1))
        log(f"{task.env_id} warm-up: loss {summary['loss_first']:.3f} -> "
            f"{summary['loss_last']:.3f} in {summary['seconds']} s")  # fmt: skip
    return str(out)


def stage_variance(config: Config, task: Task, work: Path, start: str) -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        log(f"{task.env_id} variance: {config.variance_prompts} groups of "
            f"{config.num_generations} base samples")  # fmt: skip
        rows = task_rows(task, config.variance_prompts, 0, task.train_kwargs)
        llm = load_policy(start, task, None)
        repeated = [r for r in rows for _ in range(config.num_generations)]
        played = play(llm, task, task.train_kwargs, repeated, config.temperature, seed=0)
        groups = [
            [p["reward"] for p in played[i : i + config.num_generations]]
            for i in range(0, len(played), config.num_generations)
        ]
        return {
            "groups": groups,
            "groups_with_signal": sum(len(set(g)) > 1 for g in groups) / len(groups),
            "mean_reward": statistics.fmean(p["reward"] for p in played),
            "success": statistics.fmean(p["success"] for p in played),
        }

    result = cached(work / "variance.json", probe)
    log(f"{task.env_id} variance: {result['groups_with_signal']:.0%} of groups differ in "
        f"reward; base sample success {result['success']:.2f}")  # fmt: skip
    return result


def stage_eval(
    config: Config, task: Task, work: Path, name: str, model: str, adapter: Path | None
) -> dict:
    def evaluate() -> dict[str, Any]:
        log(f"{task.env_id} eval {name}: {config.eval_episodes} held-out episodes, greedy")
        start = time.perf_counter()
        rows = task_rows(task, config.eval_episodes, EVAL_SEED, task.eval_kwargs)
        llm = load_policy(model, task, adapter)
        played = play(llm, task, task.eval_kwargs, rows, 0.0, seed=EVAL_SEED)
        return {
            "accuracy": statistics.fmean(p["success"] for p in played),
            "reward": statistics.fmean(p["reward"] for p in played),
            "episodes": played,
            "seconds": round(time.perf_counter() - start),
        }

    result = cached(work / "eval" / f"{name}.json", evaluate)
    log(f"{task.env_id} eval {name}: accuracy {result['accuracy']:.3f}, "
        f"reward {result['reward']:.3f}")  # fmt: skip
    return result


def stage_train(config: Config, task: Task, work: Path, seed: int, model: str) -> dict[str, Any]:
    from societygym.integrations.trl_grpo import train_grpo

    out = work / f"seed{seed}"
    done = out / "reward_curve.json"
    if not done.exists():
        log(f"{task.env_id} train seed {seed}: {task.steps} GRPO steps")
        start = time.perf_counter()
        train_grpo(
            task.env_id,
            model=model,
            env_kwargs=task.train_kwargs,
            steps=task.steps,
            prompts_per_step=config.prompts_per_step,
            num_generations=config.num_generations,
            max_completion_length=task.max_tokens,
            max_turn_length=task.turn_tokens,
            learning_rate=config.learning_rate,
            temperature=config.temperature,
            lora_r=config.lora_r,
            lora_alpha=2 * config.lora_r,
            multi_turn=task.multi_turn,
            actions="replies",
            metrics=(task.success,) if not task.multi_turn else (),
            seed=seed,
            output_dir=out,
            prompt=task.prompt,
            save_steps=config.save_steps,
            micro_batch=task.micro_batch,
        )
        seconds = time.perf_counter() - start
        (out / "seconds.json").write_text(json.dumps({"seconds": round(seconds)}))
        log(f"{task.env_id} train seed {seed}: {seconds / task.steps:.0f} s/step")
    return {
        "curve": json.loads(done.read_text()),
        "seconds": json.loads((out / "seconds.json").read_text())["seconds"],
        "adapter": out,
    }


# --- results -----------------------------------------------------------------------------


def quarter_means(curve: Sequence[dict[str, float]]) -> tuple[float, float]:
    """The mean training reward of the first and of the last quarter of the steps."""
    rewards = [entry["reward"] for entry in curve]
    k = max(1, len(rewards) // 4)
    return statistics.fmean(rewards[:k]), statistics.fmean(rewards[-k:])


def result_rows(
    base: dict[str, Any], trained: Sequence[dict[str, Any]], curves: Sequence[Sequence[dict]]
) -> list[dict[str, Any]]:
    """The effect rows: held-out accuracy and reward (base: the same greedy run for every
    seed), and the training reward early vs late."""
    seeds = len(trained)
    early_late = [quarter_means(c) for c in curves]
    return [
        effect_row(
            "heldout/accuracy",
            [base["accuracy"]] * seeds,
            [t["accuracy"] for t in trained],
            "higher",
            "GRPO raises held-out accuracy (DeepSeekMath: GRPO over the SFT model)",
        ),
        effect_row(
            "heldout/reward",
            [base["reward"]] * seeds,
            [t["reward"] for t in trained],
            "higher",
            "the env reward rises on unseen instances",
        ),
        effect_row(
            "train/reward_first_vs_last_quarter",
            [e for e, _ in early_late],
            [late for _, late in early_late],
            "higher",
            "the learning curve rises",
        ),
    ]


def plot(
    env_id: str,
    curves: dict[int, list[dict]],
    rows: list[dict],
    path: Path,
    warmup: dict[str, Any] | None = None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=(2, 1))
    for seed, curve in sorted(curves.items()):
        left.plot([e["step"] for e in curve], [e["reward"] for e in curve], alpha=0.4,
                  label=f"seed {seed}")  # fmt: skip
    if curves:
        length = min(len(c) for c in curves.values())
        mean = [statistics.fmean(c[i]["reward"] for c in curves.values()) for i in range(length)]
        left.plot(range(1, length + 1), mean, color="black", linewidth=2, label="mean")
    left.set_xlabel("GRPO step")
    left.set_ylabel("mean reward of the step's completions")
    left.set_title(f"{env_id}: training reward")
    left.legend(fontsize=8)
    accuracy = next(r for r in rows if r["metric"] == "heldout/accuracy")
    lo, hi = accuracy["diff_lo"], accuracy["diff_hi"]
    error = [[accuracy["diff"] - lo], [hi - accuracy["diff"]]] if lo is not None else None
    bars = [("base", accuracy["base"], None)]
    if warmup:  # the model before the warm-up, then the warmed-up one GRPO starts from
        bars = [("pretrained", warmup["pretrained_accuracy"], None), ("SFT\nwarm-up", *bars[0][1:])]
    bars.append((f"GRPO\n({accuracy['seeds']} seeds)", accuracy["trained"], error))
    for i, (_, height, yerr) in enumerate(bars):
        right.bar([i], [height], 0.6, yerr=yerr, capsize=4)
    right.set_xticks(range(len(bars)), [label for label, _, _ in bars])
    right.set_ylim(0, 1)
    right.set_title("held-out accuracy (greedy)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def warmup_summary(config: Config, task: Task, work: Path) -> dict[str, Any] | None:
    """For a warm-up task: the SFT run's summary and the model before it (held-out accuracy
    and reward of ``config.model``), so a reader sees what the warm-up did and what GRPO
    added; "base" in the rows is the warmed-up model GRPO starts from."""
    if not task.warmup:
        return None
    pretrained = stage_eval(config, task, work, "pretrained", config.model, None)
    summary = json.loads((work / "warmup" / "summary.json").read_text())
    return {
        **summary,
        "pretrained_accuracy": pretrained["accuracy"],
        "pretrained_reward": pretrained["reward"],
    }


def run_task(config: Config, env_id: str, work: Path, results: Path) -> dict[str, Any] | None:
    """All stages of one task; the results are rewritten after every finished seed, marked
    ``"partial": true`` until the last one. None when the base model's groups show no
    reward signal (and ``require_signal``)."""
    task = make_task(env_id, config)
    work = work / env_id
    log(f"{env_id}: {task.describe}")
    start = stage_warmup(config, task, work)
    variance = stage_variance(config, task, work, start)
    if config.require_signal and variance["groups_with_signal"] == 0:
        log(f"{env_id}: SKIPPED, every base group's samples earned the same reward, so GRPO "
            "would learn nothing: make the slice easier or the reward denser")  # fmt: skip
        return None
    warmup = warmup_summary(config, task, work)
    base = stage_eval(config, task, work, "base", start, None)
    trained, curves, seconds = [], {}, {}
    result: dict[str, Any] = {}
    for seed in config.seeds:
        run = stage_train(config, task, work, seed, start)
        curves[seed], seconds[seed] = run["curve"], run["seconds"]
        name = f"trained-seed{seed}"
        trained.append(stage_eval(config, task, work, name, start, run["adapter"]))
        rows = result_rows(base, trained, list(curves.values()))
        result = {
            "env_id": env_id,
            "partial": len(curves) < len(config.seeds),
            "task": task.describe,
            "config": dataclasses.asdict(config),
            "interval": "95% Student-t over training seeds of the paired difference",
            "variance": {k: v for k, v in variance.items() if k != "groups"},
            **({"warmup": warmup} if warmup else {}),
            "rows": rows,
            "curves": {str(s): [e["reward"] for e in c] for s, c in curves.items()},
            "train_seconds": {str(s): v for s, v in seconds.items()},
            "seconds_per_step": round(sum(seconds.values()) / (len(seconds) * task.steps), 1),
        }
        results.mkdir(parents=True, exist_ok=True)
        (results / f"effect_grpo_{env_id}.json").write_text(json.dumps(result, indent=1) + "\n")
        plot(env_id, curves, rows, results / f"effect_grpo_{env_id}.png", warmup)
        log(f"{env_id}: {len(curves)}/{len(config.seeds)} seeds -> "
            f"{results / f'effect_grpo_{env_id}.json'}")  # fmt: skip
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (tiny model)")
    parser.add_argument("--workdir", default="runs/effect_grpo", help="checkpoints")
    parser.add_argument("--results", default=str(RESULTS), help="where the JSON and PNG go")
    parser.add_argument("--tasks", nargs="+", help="env ids (default: both)")
    parser.add_argument("--seeds", type=int, nargs="+", help="training seeds (at least 3)")
    parser.add_argument("--steps", type=int, help="GRPO steps per seed (every task)")
    parser.add_argument("--eval-episodes", type=int)
    parser.add_argument("--model", help="embedded or tiny")
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    config = QUICK if args.quick else Config()
    overrides = {
        "tasks": tuple(args.tasks) if args.tasks else None,
        "seeds": tuple(args.seeds) if args.seeds else None,
        "steps": args.steps,
        "textcraft_steps": args.steps,
        "eval_episodes": args.eval_episodes,
        "model": args.model,
    }
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
    out = {}
    for env_id in config.tasks:
        result = run_task(config, env_id, work, Path(args.results))
        if result is not None:
            out[env_id] = result
            for row in result["rows"]:
                print(json.dumps({"env_id": env_id, **row}))
    return out


if __name__ == "__main__":
    main()
