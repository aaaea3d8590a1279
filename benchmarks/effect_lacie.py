"""LACIE's effect, measured on the embedded speaker: does DPO on listener-ranked pairs make a
listener accept fewer wrong answers while accepting right ones as often?

Stages (each checkpointed under ``--workdir``; re-running resumes where it stopped):

1. ``records``: the base speaker answers ``train_questions`` questions of the train split
   ``samples`` times (temperature 0.7), judged by the pair listener (lexical by default).
2. ``pairs``: LACIE's preference pairs under LACIE's utility table (``reward="lacie"``:
   true accept = true reject > false reject > false accept), median threshold.
3. ``train``: one DPO run (LoRA) per training seed.
4. ``eval``: base and trained speaker answer ``test_questions`` test questions once each
   (sampled with the training seed); each answer is judged by the lexical listener
   (accept above 0.66) and the embedded LLM listener (accept above ``llm_threshold``).

Rows give, per listener, the mean over seeds of base and trained, and the mean paired
difference with a 95% Student-t interval over seeds. Writes ``effect_lacie.json`` and
``effect_lacie.png`` into ``--results``.

    python benchmarks/effect_lacie.py                 # default size, 2-3 h on 2 shared CPU cores
    python benchmarks/effect_lacie.py --quick         # minutes: a smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from effect_rows import effect_row, plot_rows  # sibling modules: the script's folder is on sys.path
from torch_threads import add_threads_argument, use_threads

from societygym.baselines import lacie
from societygym.envs.trivia import metrics, outcomes
from societygym.envs.trivia.data import TriviaItem, load_questions
from societygym.envs.trivia.listeners import LexicalListener, LLMListener

RESULTS = Path(__file__).resolve().parent / "results"
# two-sided 95% Student t quantiles by degrees of freedom
LEXICAL_THRESHOLD = 0.66  # LACIE's evaluation threshold


@dataclasses.dataclass(frozen=True)
class Config:
    model: str = "embedded"  # "embedded" (SmolLM2-135M) or "tiny" (random, for tests)
    # Sized for 2 shared CPU cores, where the 135M speaker takes 2-8 s per sample:
    # 256 training samples, 3 x 2 x 60 evaluation samples and 3 x 12 DPO steps (about ten
    # epochs of the ~10 pairs this speaker yields).
    train_questions: int = 64
    samples: int = 4
    test_questions: int = 60
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 12
    batch_size: int = 2
    grad_accum: int = 4
    learning_rate: float = 5e-4
    temperature: float = 0.7
    max_tokens: int = 80
    # The embedded LLM listener's p(accept) sits between about 0.35 and 0.6 (README), so
    # LACIE's 0.66 would accept nothing.
    llm_threshold: float = 0.5
    chunk: int = 16  # questions per checkpointed chunk of sampling
    # Who ranks the training samples. LACIE used its LLM listener; the lexical one gives
    # almost every embedded-speaker sample the same p (it rarely uses a confidence cue), so
    # its pairs are nearly all filtered out by the 0.1 probability gap.
    pair_listener: str = "llm"


QUICK = Config(
    model="tiny",
    train_questions=8,
    samples=4,
    test_questions=6,
    steps=2,
    grad_accum=1,
    chunk=8,
    pair_listener="llm",  # the tiny model's text carries no cue the lexical listener reads
)

# (metric, report key, better, what the paper reports)
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("precision", "precision", "higher", "higher: listeners accept fewer wrong answers"),
    ("false_accept_rate", "false_accept_rate", "lower", "47% fewer wrong answers accepted"),
    ("recall", "recall", "higher", "about unchanged: right answers accepted as often"),
    ("auroc", "auroc", "higher", "higher: p(accept) separates right from wrong"),
    ("ece", "ece", "lower", "lower"),
    ("accept_rate", "accept_rate", "lower", "lower (fewer wrong answers accepted)"),
)
SPEAKER_METRICS: tuple[tuple[str, str, str], ...] = (
    ("accuracy", "higher", "about unchanged"),
    ("abstention_rate", "higher", "higher: emergent 'I don't know' when unsure"),
    ("hedge_rate", "higher", "higher: more hedging"),
    ("hedge_rate_wrong", "higher", "higher: more hedging when wrong"),
)


def log(message: str) -> None:
    print(f"[effect_lacie {time.strftime('%H:%M:%S')}] {message}", flush=True)


def model_dir(config: Config) -> Path:
    if config.model == "tiny":
        from societygym.llm.tiny import tiny_llm_dir

        return tiny_llm_dir()
    from societygym.llm.embedded import embedded_model_dir

    return embedded_model_dir()


def spread(items: Sequence[TriviaItem], count: int) -> list[TriviaItem]:
    """``count`` items spread evenly (splits are ordered by family)."""
    count = min(count, len(items))
    return [items[i * len(items) // count] for i in range(count)]


def sample_checkpointed(
    path: Path,
    load_llm: Callable[[], Any],
    items: Sequence[TriviaItem],
    n: int,
    seed: int,
    config: Config,
    judge: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Sample and judge in chunks, appending each to ``path``; done chunks are skipped, and a
    finished file is marked by ``<path>.done``. The model is loaded only if work is left.

    Each chunk has its own seed (``seed`` + 1000 * chunk index), so a resumed run draws what
    an uninterrupted one would.
    """
    marker = path.with_suffix(".done")
    done = lacie.read_jsonl(path) if path.exists() else []
    if marker.exists():
        return done
    path.parent.mkdir(parents=True, exist_ok=True)
    llm = None
    seen = {r["question_id"] for r in done}
    chunks = [items[i : i + config.chunk] for i in range(0, len(items), config.chunk)]
    start = time.perf_counter()
    for index, chunk in enumerate(chunks):
        if all(item.id in seen for item in chunk):
            continue
        llm = llm or load_llm()
        records = lacie.sample_utterances(
            llm,
            chunk,
            n=n,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            seed=seed + 1000 * index,
            batch_size=config.chunk,
        )
        records = judge(records)
        with path.open("a", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        done.extend(records)
        log(f"  {path.name}: chunk {index + 1}/{len(chunks)} ({time.perf_counter() - start:.0f}s)")
    marker.touch()
    return done


def stage_records(config: Config, work: Path) -> list[dict[str, Any]]:
    items = load_questions("embedded", "train")
    # a fixed shuffle, so a larger run's first chunks are a smaller run's (and resume)
    random.Random(0).shuffle(items)
    items = items[: config.train_questions]
    log(f"records: {len(items)} train questions x {config.samples} samples")
    listener = LexicalListener()
    return sample_checkpointed(
        work / "records.jsonl",
        lambda: lacie.load_speaker(model_dir=model_dir(config)),
        items,
        config.samples,
        0,
        config,
        lambda rs: lacie.judge(rs, listener),
    )


def stage_rescore(config: Config, work: Path, records: list[dict[str, Any]]) -> list[dict]:
    """The records with ``p_accept`` from the pair listener (the lexical one judged them)."""
    if config.pair_listener == "lexical":
        return records
    path = work / "records-llm.jsonl"
    if path.exists():
        return lacie.read_jsonl(path)
    log(f"rescore: {len(records)} records with the LLM listener")
    listener = LLMListener("tiny" if config.model == "tiny" else "embedded")
    p = listener.p_accept_batch(
        [r["question"] for r in records], [r["anonymized"] for r in records]
    )
    rescored = [
        {**r, "p_lexical": r["p_accept"], "p_accept": float(v)}
        for r, v in zip(records, p, strict=True)
    ]
    lacie.write_jsonl(rescored, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    return rescored


def stage_pairs(records: list[dict[str, Any]], work: Path) -> list[dict[str, Any]]:
    path = work / "pairs.jsonl"
    if path.exists():
        return lacie.load_dpo_jsonl(path)
    pairs = lacie.build_dpo_pairs(records, utilities=outcomes.LACIE_REWARDS)
    lacie.export_dpo_jsonl(pairs, path)
    types = dict(Counter(p["type"] for p in pairs))
    log(f"pairs: {len(pairs)} from {len(records)} records ({types})")
    return pairs


def stage_train(config: Config, work: Path, seed: int) -> Path:
    out = work / "train" / f"seed{seed}"
    if (out / "train_log.json").exists():
        return out
    log(f"train seed {seed}: {config.steps} DPO steps")
    start = time.perf_counter()
    entries = lacie.train_dpo(
        work / "pairs.jsonl",
        model_dir=model_dir(config),
        output_dir=out,
        max_steps=config.steps,
        batch_size=config.batch_size,
        grad_accum=config.grad_accum,
        learning_rate=config.learning_rate,
        warmup_steps=min(10, max(1, config.steps // 4)),
        seed=seed,
    )
    losses = [e["loss"] for e in entries]
    log(f"train seed {seed}: loss {losses[0]:.3f} -> {losses[-1]:.3f} in "
        f"{time.perf_counter() - start:.0f}s")  # fmt: skip
    return out


class EvalJudge:
    """Judges eval samples with both listeners: ``p_lexical`` and ``p_llm``."""

    def __init__(self, config: Config) -> None:
        self.lexical = LexicalListener()
        self.llm = LLMListener("tiny" if config.model == "tiny" else "embedded")

    def __call__(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        judged = lacie.judge(records, self.lexical)
        llm_p = self.llm.p_accept_batch(
            [r["question"] for r in judged], [r["anonymized"] for r in judged]
        )
        for r, p in zip(judged, llm_p, strict=True):
            r["p_lexical"] = r.pop("p_accept")
            r["p_llm"] = float(p)
        return judged


def stage_eval(config: Config, work: Path, name: str, adapter: Path | None, seed: int) -> Path:
    path = work / "eval" / f"{name}-seed{seed}.jsonl"
    items = spread(load_questions("embedded", "test"), config.test_questions)
    log(f"eval {name} seed {seed}: {len(items)} test questions")
    # the same sampling seed for base and trained: the pair differs only in the weights
    sample_checkpointed(
        path,
        lambda: lacie.load_speaker(adapter, model_dir(config)),
        items,
        1,
        10_000 + seed,
        config,
        EvalJudge(config),
    )
    return path


def speaker_metrics(records: list[dict[str, Any]]) -> dict[str, float]:
    wrong = [r for r in records if not r["abstained"] and not r["correct"]]
    return {
        "accuracy": statistics.fmean(bool(r["correct"]) for r in records),
        "abstention_rate": metrics.abstention_rate([r["abstained"] for r in records]),
        "hedge_rate": metrics.hedge_rate(r["utterance"] for r in records),
        "hedge_rate_wrong": metrics.hedge_rate(r["utterance"] for r in wrong),
    }


def listener_metrics(records: list[dict[str, Any]], key: str, threshold: float) -> dict:
    """LACIE's no-skip view: an abstention counts as wrong and not accepted."""
    infos = [
        {
            "p_accept": r[key],
            "correct": r["correct"],
            "abstained": r["abstained"],
            "accepted": (not r["abstained"]) and r[key] > threshold,
        }
        for r in records
    ]
    return metrics.calibration_report(infos)


def evaluate(config: Config, path: Path) -> dict[str, float]:
    records = lacie.read_jsonl(path)
    values = speaker_metrics(records)
    for listener, key, threshold in (
        ("lexical", "p_lexical", LEXICAL_THRESHOLD),
        ("llm", "p_llm", config.llm_threshold),
    ):
        report = listener_metrics(records, key, threshold)
        values.update({f"{listener}/{name}": report[field] for name, field, _, _ in METRICS})
    return values


def rows(per_seed: dict[int, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    specs = [(m, better, paper) for m, better, paper in SPEAKER_METRICS] + [
        (f"{listener}/{name}", better, paper)
        for listener in ("lexical", "llm")
        for name, _, better, paper in METRICS
    ]
    out = []
    for metric, better, paper in specs:
        base = [per_seed[s]["base"][metric] for s in sorted(per_seed)]
        trained = [per_seed[s]["trained"][metric] for s in sorted(per_seed)]
        out.append(effect_row(metric, base, trained, better, paper))
    return out


def run(config: Config, work: Path, results: Path) -> dict[str, Any]:
    start = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
    records = stage_rescore(config, work, stage_records(config, work))
    pairs = stage_pairs(records, work)
    if not pairs:
        raise RuntimeError(f"no preference pairs from {len(records)} records: sample more")
    per_seed: dict[int, dict[str, dict[str, float]]] = {}
    for seed in config.seeds:
        adapter = stage_train(config, work, seed)
        per_seed[seed] = {
            "base": evaluate(config, stage_eval(config, work, "base", None, seed)),
            "trained": evaluate(config, stage_eval(config, work, "trained", adapter, seed)),
        }
    result = {
        "config": dataclasses.asdict(config),
        "n_records": len(records),
        "n_pairs": len(pairs),
        "pair_types": dict(sorted(Counter(p["type"] for p in pairs).items())),
        "rows": rows(per_seed),
        "per_seed": {str(s): v for s, v in per_seed.items()},
        "seconds": round(time.perf_counter() - start),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / "effect_lacie.json").write_text(json.dumps(result, indent=1) + "\n")
    title = "LACIE on the embedded speaker"
    plot_rows(result["rows"], results / "effect_lacie.png", title, "LACIE-trained")
    log(f"done in {result['seconds']}s -> {results / 'effect_lacie.json'}")
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (tiny model)")
    parser.add_argument("--workdir", default="runs/effect_lacie", help="checkpoints")
    parser.add_argument("--results", default=str(RESULTS), help="where the JSON and PNG go")
    parser.add_argument("--seeds", type=int, nargs="+", help="training seeds (at least 3)")
    parser.add_argument("--steps", type=int, help="DPO steps per seed")
    parser.add_argument("--train-questions", type=int)
    parser.add_argument("--test-questions", type=int)
    parser.add_argument("--samples", type=int, help="samples per train question")
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    config = QUICK if args.quick else Config()
    overrides = {
        "seeds": tuple(args.seeds) if args.seeds else None,
        "steps": args.steps,
        "train_questions": args.train_questions,
        "test_questions": args.test_questions,
        "samples": args.samples,
    }
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    result = run(config, Path(args.workdir), Path(args.results))
    for row in result["rows"]:
        print(json.dumps(row))
    return result


if __name__ == "__main__":
    main()
