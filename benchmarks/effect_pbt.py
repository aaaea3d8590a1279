"""PBT's effect, measured on the embedded model: do SFT then DPO on balanced resist/accept
pairs from its own dialogue trees make it resist wrong persuasion and accept right persuasion?

Stages (each checkpointed under ``--workdir``; re-running resumes where it stopped):

1. ``select``: the base model answers each candidate question ``probe_samples`` times
   (temperature 0.7, PBT's standard prompt). Questions it answered right at least once and
   wrong at least once are kept: those it answers right about half the time, where both a
   right and a wrong agent, and so both kinds of pair, can arise. Candidates are the
   difficulty-1 families (``trivia.difficulty``): train questions for the trees; dev and
   test, then train questions no tree is built from, for the evaluation.
2. ``trees``: PBT's counterfactual dialogue trees (``persuasion_trees.build_trees``) on the
   selected train questions, in checkpointed chunks.
3. ``pairs``: sibling preference pairs, balanced to equal resist and accept counts.
4. ``train``: per training seed, LoRA SFT on the chosen replies, merged, then LoRA DPO on the
   pairs from the SFT model (its own reference), as PBT trains.
5. ``eval``: the base model and each trained one play ``Persuasion-Balanced-v0``,
   ``-AreYouSure-v0`` and ``-Misinformation-v0`` (scripted partners) on the selected
   evaluation questions, replying greedily under the plain standard prompt with the
   dialogue as chat turns, the form they were trained in (``LLMPartner(role="standard")``).

Greedy replies make the base model's evaluation one run shared by all seeds; each row
compares it with every seed's trained model (95% Student-t interval over seeds of the
paired difference, ``effect_rows``). Per-item counts (right before/after, gained, lost) go
in ``counts``. Writes ``effect_pbt.json`` and ``effect_pbt.png`` into ``--results``.

    python benchmarks/effect_pbt.py                # default size, about 1.6 h on 2 busy CPU cores
    python benchmarks/effect_pbt.py --quick        # a smoke run, about two minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# sibling modules: the script's folder is on sys.path
from effect_power import power
from effect_rows import effect_row, plot_rows
from sft_lora import sft_lora
from torch_threads import add_threads_argument, use_threads

from societygym import progress as progress_bars
from societygym.baselines import persuasion_trees as pt
from societygym.baselines.lacie import read_jsonl, train_dpo, write_jsonl
from societygym.envs.persuasion.dialogue import extract_answers
from societygym.envs.persuasion.partners import LLMPartner, generate_replies, role_messages
from societygym.envs.trivia.answers import RuleBasedExtractor, is_correct
from societygym.envs.trivia.data import TriviaItem, load_questions
from societygym.envs.trivia.difficulty import families_at

RESULTS = Path(__file__).resolve().parent / "results"
ENVS = ("Persuasion-Balanced-v0", "Persuasion-AreYouSure-v0", "Persuasion-Misinformation-v0")


@dataclasses.dataclass(frozen=True)
class Config:
    # Sized for 2 shared CPU cores, where the 135M model writes one to two 48-token replies
    # a second in batches. Measured: probing ~20 min, trees ~15 min, each seed's training
    # ~12.5 min (SFT 20 s a step, DPO 40 s) and each evaluation ~4.5 min.
    # about one in five is answered right only sometimes (the rest never)
    train_candidates: int = 240  # train questions probed for the trees
    eval_candidates: int = 320  # questions probed for the evaluation
    probe_samples: int = 4
    difficulty: int = 1
    max_depth: int = 4  # PBT's four turns
    max_tokens: int = 48
    seeds: tuple[int, ...] = (0, 1, 2)
    # SFT and DPO each take this many passes over the pairs (PBT's DPO: 5; 3 keep a seed's
    # training near 12 min here), within [min_steps, max_steps]: the pair count is known
    # only once the trees are built, and the 135M model's trees hold few accept pairs, so
    # balancing leaves few
    epochs: float = 3.0
    min_steps: int = 8
    max_steps: int = 40
    batch_size: int = 2
    grad_accum: int = 4
    learning_rate: float = 5e-4  # PBT's (LoRA r 16, alpha 32, cosine)
    pairs: str = "balanced"  # which sibling pairs train (``choose_pairs``)
    chunk: int = 16  # questions per checkpointed chunk


QUICK = Config(
    train_candidates=32,  # about one in ten is answered right only sometimes
    eval_candidates=8,
    probe_samples=2,
    max_tokens=32,
    seeds=(0, 1),
    epochs=1.0,
    min_steps=2,
    batch_size=2,
    grad_accum=1,
    pairs="all",  # a handful of trees rarely holds a resist or accept pair
    chunk=8,
)

# (env, report key, metric name, better, what the paper reports for Llama-3.1-8B, base -> PBT)
METRICS: tuple[tuple[str, str, str, str, str], ...] = (
    (ENVS[0], "accuracy_overall", "balanced/accuracy", "higher", "43.2% -> 61.0%"),
    (ENVS[0], "accuracy_resist", "balanced/resist (+ to -)", "higher", "27.1% -> 61.7%"),
    (ENVS[0], "accuracy_accept", "balanced/accept (- to +)", "higher", "59.2% -> 60.2%"),
    (ENVS[1], "accuracy_delta", "are_you_sure/accuracy_change", "higher", "-27.2 -> -2.3 pts"),
    (ENVS[1], "accuracy_before", "are_you_sure/accuracy_before", "higher", "61.6% -> 54.7%"),
    (ENVS[1], "accuracy_after", "are_you_sure/accuracy_after", "higher", "34.4% -> 52.4%"),
    (ENVS[2], "adoption", "misinformation/adoption", "lower", "54.4% -> 38.4% (Farm)"),
    (ENVS[2], "adoption_when_right", "misinformation/adoption_when_right", "lower", "lower"),
    (ENVS[2], "accuracy_after", "misinformation/accuracy_after", "higher", "higher"),
)


def log(message: str) -> None:
    print(f"[effect_pbt {time.strftime('%H:%M:%S')}] {message}", flush=True)


def model_dir(name: str) -> Path:
    if name == "tiny":
        from societygym.llm.tiny import tiny_llm_dir

        return tiny_llm_dir()
    from societygym.llm.embedded import embedded_model_dir

    return embedded_model_dir()


def load_model(path: Path) -> Any:
    from societygym.llm.transformers_backend import TransformersLLM

    return TransformersLLM(path, batch_size=32)  # slots of the continuous decoder


# ---------------------------------------------------------------------------
# 1. Questions it answers right about half the time
# ---------------------------------------------------------------------------


def candidates(config: Config) -> tuple[list[TriviaItem], list[TriviaItem]]:
    """The questions probed for the trees and for the evaluation: difficulty-
    ``config.difficulty`` families in a fixed shuffle (so a larger run's first chunks are a
    smaller run's). The trees draw on the train split; the evaluation on dev and test, then
    on train questions no tree is built from (held out all the same: nothing trains on them).
    """
    families = set(families_at(config.difficulty))

    def shuffled(splits: Sequence[str]) -> list[TriviaItem]:
        items = [it for split in splits for it in load_questions("embedded", split)]
        items = [it for it in items if it.family in families]
        random.Random(0).shuffle(items)
        return items

    train = shuffled(["train"])
    pool = shuffled(["dev", "test"]) + train[config.train_candidates :]
    return train[: config.train_candidates], pool[: config.eval_candidates]


def mixed(rights: int, samples: int) -> bool:
    """Right at least once and wrong at least once: neither always nor never right."""
    return 0 < rights < samples


def stage_select(
    name: str, items: Sequence[TriviaItem], config: Config, work: Path, llm_path: Path
) -> list[TriviaItem]:
    """The ``items`` the base model answers right in some but not all of its samples."""
    path = work / f"select-{name}.jsonl"
    done = read_jsonl(path) if path.exists() else []
    seen = {r["question_id"] for r in done}
    todo = [it for it in items if it.id not in seen]
    if todo:
        llm, extractor = load_model(llm_path), RuleBasedExtractor()
        chunks = [todo[i : i + config.chunk] for i in range(0, len(todo), config.chunk)]
        log(f"select {name}: {len(todo)} of {len(items)} questions x {config.probe_samples}")
        start = time.perf_counter()
        with progress_bars.bar(len(items), f"select {name}", "question", initial=len(seen)) as bar:
            for chunk in chunks:
                probes = [it for it in chunk for _ in range(config.probe_samples)]
                prompts = [role_messages("standard", it.question, []) for it in probes]
                # the chunk's first question seeds it, so a resumed run draws the same
                texts = generate_replies(
                    llm, prompts, temperature=0.7, max_tokens=config.max_tokens, seed=len(seen)
                )
                answers = extract_answers(texts, [it.question for it in probes], extractor)
                right = [is_correct(a, it.answers) for a, it in zip(answers, probes, strict=True)]
                k = config.probe_samples
                rows = [
                    {"question_id": it.id, "right": sum(right[i * k : (i + 1) * k]), "samples": k}
                    for i, it in enumerate(chunk)
                ]
                with path.open("a", encoding="utf-8") as f:
                    f.writelines(json.dumps(r) + "\n" for r in rows)
                done.extend(rows)
                seen.update(r["question_id"] for r in rows)
                bar.update(len(chunk))
        log(f"select {name}: {time.perf_counter() - start:.0f}s")
    rights = {r["question_id"]: (r["right"], r["samples"]) for r in done}
    return [it for it in items if mixed(*rights[it.id])]


# ---------------------------------------------------------------------------
# 2-3. Trees and balanced pairs
# ---------------------------------------------------------------------------


def stage_trees(
    items: Sequence[TriviaItem], config: Config, work: Path, llm_path: Path
) -> list[pt.Tree]:
    path = work / "trees.jsonl"
    trees = pt.load_trees(path) if path.exists() else []
    built = {tree.item.id for tree in trees}
    todo = [it for it in items if it.id not in built]
    if not todo:
        return trees
    llm = load_model(llm_path)
    tree_config = pt.TreeConfig(max_depth=config.max_depth, max_tokens=config.max_tokens)
    chunks = [todo[i : i + config.chunk] for i in range(0, len(todo), config.chunk)]
    start = time.perf_counter()
    for index, chunk in enumerate(chunks):
        log(f"trees: chunk {index + 1}/{len(chunks)} ({len(chunk)} questions)")
        # seeded by the chunk's position among all trees, so a resumed run builds the same
        new = pt.build_trees(chunk, llm, tree_config, seed=len(trees), progress=True)
        with path.open("a", encoding="utf-8") as f:
            f.writelines(json.dumps(tree.to_dict(), ensure_ascii=False) + "\n" for tree in new)
        trees.extend(new)
    log(f"trees: {len(trees)} trees, {pt.count_nodes(trees)} turns "
        f"({time.perf_counter() - start:.0f}s)")  # fmt: skip
    return trees


def choose_pairs(pairs: Sequence[pt.PreferencePair], kind: str) -> list[pt.PreferencePair]:
    """The training pairs: PBT's resist and accept pairs in equal numbers (``"balanced"``),
    every resist and accept pair (``"labelled"``), or every sibling pair with a score gap
    (``"all"``, for smoke runs)."""
    if kind == "balanced":
        return pt.balance_pairs(pairs, seed=0)
    if kind == "labelled":
        return [pair for pair in pairs if pair.label in (pt.RESIST, pt.ACCEPT)]
    if kind == "all":
        return list(pairs)
    raise ValueError(f"pairs must be 'balanced', 'labelled' or 'all', not {kind!r}")


def stage_pairs(trees: Sequence[pt.Tree], config: Config, work: Path) -> dict[str, Any]:
    """Writes ``sft.jsonl`` (prompt/completion: the chosen reply) and ``dpo.jsonl``."""
    path = work / "pairs.json"
    if path.exists():
        return json.loads(path.read_text())
    found = pt.extract_pairs(trees)
    chosen = choose_pairs(found, config.pairs)
    if not chosen:
        raise RuntimeError(f"no training pairs: {pt.explain_no_pairs(trees, found)}")
    sft = [
        {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]}
        for row in pt.sft_rows(chosen)
    ]
    write_jsonl(sft, work / "sft.jsonl")
    write_jsonl(pt.dpo_rows(chosen), work / "dpo.jsonl")
    summary = {
        "trees": len(trees),
        "discussed": sum(pt.discussed(tree) for tree in trees),
        "turns": pt.count_nodes(trees),
        "found": dict(Counter(str(p.label) for p in found)),
        "kept": dict(Counter(str(p.label) for p in chosen)),
    }
    path.write_text(json.dumps(summary, indent=1))
    log(f"pairs: {summary}")
    return summary


# ---------------------------------------------------------------------------
# 4. SFT then DPO
# ---------------------------------------------------------------------------


def training_steps(config: Config, n_pairs: int) -> int:
    """Optimizer steps for ``config.epochs`` passes over ``n_pairs`` pairs."""
    steps = math.ceil(config.epochs * n_pairs / (config.batch_size * config.grad_accum))
    return min(max(config.min_steps, steps), config.max_steps)


def train_sft(
    rows_path: Path, base_dir: Path, out: Path, config: Config, seed: int, steps: int
) -> list[dict[str, float]]:
    """LoRA SFT on the chosen replies (loss on the reply only), merged into a full model
    saved in ``out / "sft"`` so that DPO can start from it and use it as its reference."""
    return sft_lora(
        read_jsonl(rows_path),
        base_dir,
        out / "sft",
        steps=steps,
        batch_size=config.batch_size,
        grad_accum=config.grad_accum,
        learning_rate=config.learning_rate,
        seed=seed,
    )


def merge_adapter(base_dir: Path, adapter_dir: Path, out: Path) -> None:
    """``base_dir`` with the LoRA adapter merged in, saved as a plain model folder."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload().save_pretrained(out)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(out)


def stage_train(config: Config, work: Path, base_dir: Path, seed: int) -> Path:
    """The trained model's folder (``train/seed<k>/model``)."""
    out = work / "train" / f"seed{seed}"
    if (out / "model" / "config.json").exists():
        return out / "model"
    start = time.perf_counter()
    steps = training_steps(config, len(read_jsonl(work / "dpo.jsonl")))
    if not (out / "sft" / "config.json").exists():
        log(f"train seed {seed}: {steps} SFT steps")
        entries = train_sft(work / "sft.jsonl", base_dir, out, config, seed, steps)
        (out / "sft_log.json").write_text(json.dumps(entries, indent=1))
        log(f"train seed {seed}: SFT loss {entries[0]['loss']:.3f} -> {entries[-1]['loss']:.3f}")
    log(f"train seed {seed}: {steps} DPO steps")
    entries = train_dpo(
        work / "dpo.jsonl",
        model_dir=out / "sft",
        output_dir=out / "dpo",
        max_steps=steps,
        batch_size=config.batch_size,
        grad_accum=config.grad_accum,
        learning_rate=config.learning_rate,
        warmup_steps=min(10, max(1, steps // 4)),
        max_length=512,
        seed=seed,
        progress=True,
    )
    merge_adapter(out / "sft", out / "dpo", out / "model")
    log(f"train seed {seed}: DPO loss {entries[0]['loss']:.3f} -> {entries[-1]['loss']:.3f} "
        f"({time.perf_counter() - start:.0f}s)")  # fmt: skip
    return out / "model"


# ---------------------------------------------------------------------------
# 5. Evaluation
# ---------------------------------------------------------------------------


def stage_eval(
    name: str, path: Path, items: Sequence[TriviaItem], config: Config, work: Path
) -> dict[str, dict[str, Any]]:
    """Per env: the summary metrics and each episode's final info (kept to a few keys)."""
    from societygym.runner import run_episodes

    out = work / "eval" / f"{name}.json"
    if out.exists():
        return json.loads(out.read_text())
    agent = LLMPartner(load_model(path), "standard", temperature=0.0, max_tokens=config.max_tokens)
    result, start = {}, time.perf_counter()
    for env_id in ENVS:
        episodes = len(items) * (2 if env_id == ENVS[0] else 1)  # balanced: both halves
        summary = run_episodes(
            env_id,
            agent,
            episodes=episodes,
            env_kwargs={"questions": list(items)},
            batch_size=32,
            indexed=True,
        )
        keys = ("question_id", "correct", "initial_correct", "half", "adopted")
        result[env_id] = {
            "metrics": summary.metrics,
            "episodes": [{k: info[k] for k in keys if k in info} for info in summary.final_infos],
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    log(f"eval {name}: {time.perf_counter() - start:.0f}s")
    return result


def item_counts(base: Sequence[dict], trained: Sequence[dict]) -> dict[str, int]:
    """Episode by episode (same instances): right for base/trained, gained, lost."""
    pairs = [(bool(b["correct"]), bool(t["correct"])) for b, t in zip(base, trained, strict=True)]
    return {
        "n": len(pairs),
        "base_right": sum(b for b, _ in pairs),
        "trained_right": sum(t for _, t in pairs),
        "gained": sum(t and not b for b, t in pairs),
        "lost": sum(b and not t for b, t in pairs),
    }


def rows(base: dict, trained: dict[int, dict]) -> list[dict[str, Any]]:
    """One effect row per metric: the shared base run against every seed's trained run."""
    seeds = sorted(trained)
    return [
        effect_row(
            name,
            [base[env]["metrics"][key] for _ in seeds],
            [trained[s][env]["metrics"][key] for s in seeds],
            better,
            paper,
        )
        for env, key, name, better, paper in METRICS
    ]


def powers(base: dict, trained: dict[int, dict]) -> dict[str, Any]:
    """What the headline comparisons could resolve (``effect_power``) at a ±0.05 target: the
    interval, the smallest difference detectable at 80% power, the seeds or episodes needed."""
    out = {}
    for env, key, name, _, _ in (METRICS[0], METRICS[3], METRICS[6]):
        diffs = [trained[s][env]["metrics"][key] - base[env]["metrics"][key] for s in trained]
        if len(diffs) >= 2:
            # the measurement noise of a rate near the base model's final accuracy
            level = base[env]["metrics"].get("accuracy_after", base[env]["metrics"][key])
            episodes = len(base[env]["episodes"])
            out[name] = power(diffs, min(max(level, 0.05), 0.95), episodes, 0.05).to_dict()
    return out


def run(config: Config, model: str, work: Path, results: Path) -> dict[str, Any]:
    start = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
    base_dir = model_dir(model)
    times: dict[str, float] = {}

    def timed(stage: str, began: float) -> None:
        times[stage] = times.get(stage, 0.0) + round(time.perf_counter() - began)

    began = time.perf_counter()
    train_pool, eval_pool = candidates(config)
    tree_items = stage_select("train", train_pool, config, work, base_dir)
    eval_items = stage_select("eval", eval_pool, config, work, base_dir)
    timed("select", began)
    log(f"select: {len(tree_items)}/{len(train_pool)} train and {len(eval_items)}/"
        f"{len(eval_pool)} eval questions answered right in some but not all samples")  # fmt: skip
    if not tree_items or not eval_items:
        raise RuntimeError("no question the model answers right only sometimes: probe more")
    began = time.perf_counter()
    trees = stage_trees(tree_items, config, work, base_dir)
    timed("trees", began)
    pairs = stage_pairs(trees, config, work)
    began = time.perf_counter()
    base = stage_eval("base", base_dir, eval_items, config, work)
    timed("eval", began)
    trained: dict[int, dict] = {}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for seed in config.seeds:
        began = time.perf_counter()
        path = stage_train(config, work, base_dir, seed)
        timed("train", began)
        began = time.perf_counter()
        trained[seed] = stage_eval(f"trained-seed{seed}", path, eval_items, config, work)
        timed("eval", began)
        counts[str(seed)] = {
            env: item_counts(base[env]["episodes"], trained[seed][env]["episodes"]) for env in ENVS
        }
    result = {
        "config": {**dataclasses.asdict(config), "model": model},
        "questions": {
            "families": list(families_at(config.difficulty)),
            "train_probed": len(train_pool),
            "train_selected": len(tree_items),
            "eval_probed": len(eval_pool),
            "eval_selected": len(eval_items),
            # the base model's greedy first answers on the evaluation questions
            "base_accuracy": base[ENVS[1]]["metrics"]["accuracy_before"],
        },
        "pairs": pairs,
        "rows": rows(base, trained),
        "power": powers(base, trained),
        "counts": counts,
        "per_seed": {
            "base": {env: base[env]["metrics"] for env in ENVS},
            **{str(s): {env: t[env]["metrics"] for env in ENVS} for s, t in trained.items()},
        },
        "stage_seconds": times,
        "seconds": round(time.perf_counter() - start),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / "effect_pbt.json").write_text(json.dumps(result, indent=1) + "\n")
    title = "PBT on the embedded model"
    plot_rows(result["rows"], results / "effect_pbt.png", title, "PBT-trained")
    log(f"done in {result['seconds']}s -> {results / 'effect_pbt.json'}")
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about two minutes")
    parser.add_argument("--model", default="embedded", help="'embedded' or 'tiny' (tests)")
    parser.add_argument("--workdir", help="checkpoints (runs/effect_pbt[_quick])")
    parser.add_argument(
        "--results", help=f"where the JSON and PNG go ({RESULTS}; --quick: the workdir)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="training seeds (at least 3)")
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    config = QUICK if args.quick else Config()
    if args.seeds:
        config = dataclasses.replace(config, seeds=tuple(args.seeds))
    # a smoke run never overwrites the committed results
    work = Path(args.workdir or ("runs/effect_pbt_quick" if args.quick else "runs/effect_pbt"))
    results = Path(args.results) if args.results else work if args.quick else RESULTS
    result = run(config, args.model, work, results)
    for row in result["rows"]:
        print(json.dumps(row))
    return result


if __name__ == "__main__":
    main()
