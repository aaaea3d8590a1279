"""LACIE's preference-data pipeline: sample, judge, pair, train with DPO.

1. ``sample_utterances``: the speaker answers each question ``n`` times at temperature 0.7.
2. ``judge``: extract each answer, grade it, mask it, and ask a listener for p(accept).
3. ``build_dpo_pairs``: within a question, prefer the utterance whose (correct, accepted)
   outcome has the higher utility -- accepted when right, rejected when wrong.
4. ``train_dpo``: DPO with a LoRA adapter (TRL + peft).

The DPO prompt is the same plain-text speaker prompt the utterances were sampled from, so
the policy is trained in exactly the context it answered in. Run the stages from the shell
with ``python -m societygym.baselines.lacie {sample,pairs,train} --help``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from societygym import progress as progress_bars
from societygym.baselines.cli import EmptyResult, add_quiet
from societygym.baselines.cli import run as run_stage
from societygym.envs.trivia import outcomes
from societygym.envs.trivia.answers import RuleBasedExtractor, anonymize, is_correct
from societygym.envs.trivia.listeners import ANSWER_MASK, Listener
from societygym.envs.trivia.prompts import SPEAKER_PROMPT
from societygym.llm.base import LLM

__all__ = [
    "SPEAKER_PROMPT",
    "build_dpo_pairs",
    "export_dpo_jsonl",
    "judge",
    "load_dpo_jsonl",
    "load_speaker",
    "sample_utterances",
    "train_dpo",
]

# The same stops as the env's LLM speaker, so the trained speaker is evaluated as it sampled.
STOP = ("\nQuestion:", "\n\n")
Record = dict[str, Any]


def speaker_prompt(question: str) -> str:
    return SPEAKER_PROMPT.format(question=question)


def sample_utterances(
    llm: LLM,
    items: Sequence[Any],
    n: int = 10,
    temperature: float = 0.7,
    max_tokens: int = 80,
    seed: int = 0,
    batch_size: int = 16,
    progress: bool = False,
) -> list[Record]:
    """``n`` sampled answers to each item (anything with ``id``, ``question``, ``answers``).

    Each batch of ``batch_size`` questions gets its own seed (``seed`` + batch index), so a
    run is reproducible and batches do not repeat each other's samples. ``progress`` shows a
    bar that moves with every finished utterance.
    """
    records = []
    with (
        progress_bars.bar(len(items) * n, "sampling", "utt", quiet=not progress) as bar,
        progress_bars.count_generations(bar.update),
    ):
        for batch_index, start in enumerate(range(0, len(items), batch_size)):
            batch = items[start : start + batch_size]
            generations = llm.generate(
                [speaker_prompt(item.question) for item in batch],
                n=n,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=list(STOP),
                seed=seed + batch_index,
            )
            progress_bars.advance_to(bar, (start + len(batch)) * n)
            records.extend(_sample_records(batch, generations))
    return records


def _sample_records(batch: Sequence[Any], generations: Sequence[Sequence[Any]]) -> list[Record]:
    return [
        {
            "question_id": item.id,
            "question": item.question,
            "answers": list(item.answers),
            "utterance": sample.text.strip(),
            "sample": k,
        }
        for item, samples in zip(batch, generations, strict=True)
        for k, sample in enumerate(samples)
    ]


def judge(
    records: Sequence[Mapping[str, Any]],
    listener: Listener,
    extractor: Any = None,
    progress: bool = False,
    chunk: int = 64,
) -> list[Record]:
    """Copies of ``records`` with ``answer``, ``correct``, ``abstained``, ``anonymized`` and
    ``p_accept`` added. ``extractor`` defaults to ``RuleBasedExtractor()``; an utterance with
    no extractable answer is an abstention. Records are judged ``chunk`` at a time, so a
    ``progress`` bar moves while an LLM listener works."""
    extractor = extractor if extractor is not None else RuleBasedExtractor()
    judged: list[Record] = []
    with progress_bars.bar(len(records), "judging", "utt", quiet=not progress) as bar:
        for start in range(0, len(records), chunk):
            judged += _judge_chunk(records[start : start + chunk], listener, extractor)
            bar.update(len(judged) - bar.n)
    return judged


def _judge_chunk(
    records: Sequence[Mapping[str, Any]], listener: Listener, extractor: Any
) -> list[Record]:
    questions = [r["question"] for r in records]
    utterances = [r["utterance"] for r in records]
    answers = extractor.extract_batch(utterances, questions)
    anonymized = [
        anonymize(r["utterance"], r["answers"], extracted=a)
        for r, a in zip(records, answers, strict=True)
    ]
    p_accept = listener.p_accept_batch(questions, anonymized)
    return [
        {
            **r,
            "answer": a,
            "correct": is_correct(a, r["answers"]),
            "abstained": a is None,
            "anonymized": masked,
            "p_accept": float(p),
        }
        for r, a, masked, p in zip(records, answers, anonymized, p_accept, strict=True)
    ]


def _has_content(anonymized: str) -> bool:
    """Whether anything but the mask is left for the listener to read."""
    return re.search(r"\w", anonymized.replace(ANSWER_MASK, "")) is not None


def build_dpo_pairs(
    records: Sequence[Mapping[str, Any]],
    threshold: str | float = "median",
    min_gap: float = 0.1,
    max_pairs_per_question: int | None = 3,
    balance_types: bool = True,
    utilities: Mapping[str, float] = outcomes.LACIE_REWARDS,
    seed: int = 0,
) -> list[Record]:
    """LACIE's preference pairs from judged records (see :func:`judge`).

    - A sample is accepted when p(accept) > ``threshold``; ``"median"`` takes the median p
      over all ``records``, which cancels the listener's bias towards saying yes. (With a
      listener of few distinct outputs, such as the lexical one, samples that sit exactly
      on the median count as rejected.)
    - Its outcome (TA/TR/FR/FA) scores ``utilities`` (LACIE: TA = TR = +1, FR = -0.5,
      FA = -1). Abstentions and samples with nothing but the mask left are dropped.
    - Every unordered pair of a question's samples whose p differ by at least ``min_gap`` and
      whose utilities differ (so TA is never ranked against TR) becomes a pair; the higher
      utility is ``chosen``. Its ``type`` names both outcomes, e.g. ``"TA>FR"``.
    - Per question, the ``max_pairs_per_question`` most informative pairs are kept: largest
      utility gap first, then largest p gap, then a ``seed``-ed random order for exact ties.
    - With ``balance_types``, every type is downsampled (seeded, uniformly) to the count of
      the rarest type present, so no single contrast dominates training.

    ``chosen``/``rejected`` are the original (unmasked) utterances with a leading space: the
    prompt ends in "Response:" and BPE tokenizers attach the space to the next word.
    """
    rng = random.Random(seed)
    if threshold == "median":
        cut = statistics.median(float(r["p_accept"]) for r in records) if records else 0.5
    else:
        cut = float(threshold)

    by_question: dict[Any, list[tuple[Mapping[str, Any], str]]] = {}
    for r in records:
        if r["abstained"] or not _has_content(r["anonymized"]):
            continue
        kind = outcomes.outcome(bool(r["correct"]), float(r["p_accept"]) > cut)
        by_question.setdefault(r["question_id"], []).append((r, kind))

    pairs: list[Record] = []
    for samples in by_question.values():
        candidates = []
        for (a, kind_a), (b, kind_b) in itertools.combinations(samples, 2):
            p_gap = abs(float(a["p_accept"]) - float(b["p_accept"]))
            if p_gap < min_gap or utilities[kind_a] == utilities[kind_b]:
                continue
            if utilities[kind_a] < utilities[kind_b]:
                (a, kind_a), (b, kind_b) = (b, kind_b), (a, kind_a)
            gap = utilities[kind_a] - utilities[kind_b]
            candidates.append((gap, p_gap, _pair(a, b, f"{kind_a}>{kind_b}")))
        rng.shuffle(candidates)
        candidates.sort(key=lambda c: (-c[0], -c[1]))
        pairs.extend(c[2] for c in candidates[:max_pairs_per_question])
    return _balance(pairs, rng) if balance_types else pairs


def _pair(chosen: Mapping[str, Any], rejected: Mapping[str, Any], kind: str) -> Record:
    return {
        "prompt": speaker_prompt(chosen["question"]),
        "chosen": " " + chosen["utterance"],
        "rejected": " " + rejected["utterance"],
        "question_id": chosen["question_id"],
        "type": kind,
        "p_chosen": float(chosen["p_accept"]),
        "p_rejected": float(rejected["p_accept"]),
    }


def _balance(pairs: list[Record], rng: random.Random) -> list[Record]:
    """Downsample each type to the rarest type's count, keeping the pairs' order."""
    by_type: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        by_type.setdefault(pair["type"], []).append(index)
    if not by_type:
        return []
    quota = min(len(indices) for indices in by_type.values())
    keep = set()
    for kind in sorted(by_type):
        keep.update(rng.sample(by_type[kind], quota))
    return [pair for index, pair in enumerate(pairs) if index in keep]


def write_jsonl(rows: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: str | Path) -> list[Record]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def export_dpo_jsonl(pairs: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """One pair per line in TRL's standard preference format: ``prompt``, ``chosen`` and
    ``rejected`` strings (the metadata rides along in extra keys)."""
    return write_jsonl(pairs, path)


def load_dpo_jsonl(path: str | Path) -> list[Record]:
    return read_jsonl(path)


def train_dpo(
    pairs_path: str | Path,
    *,
    model_dir: str | Path | None = None,
    output_dir: str | Path = "runs/lacie-dpo",
    max_steps: int = 100,
    lora_r: int = 16,
    lora_alpha: int = 32,
    lora_dropout: float = 0.05,
    beta: float = 0.1,
    learning_rate: float = 5e-4,
    warmup_steps: int = 10,
    batch_size: int = 4,
    grad_accum: int = 4,
    max_length: int = 200,
    seed: int = 0,
    progress: bool = False,
) -> list[dict[str, float]]:
    """DPO of a LoRA adapter on the pairs in ``pairs_path``; LACIE's defaults (LoRA r 16,
    alpha 32, dropout 0.05; beta 0.1; lr 5e-4, cosine schedule, 10 warmup steps).

    ``model_dir`` is a Hugging Face model folder (default: the embedded SmolLM2). The
    reference model is the base model with the adapter switched off. bf16 only on a CUDA
    device that supports it, fp32 otherwise; nothing is reported to trackers. Saves the
    adapter and tokenizer in ``output_dir`` and returns the per-step log entries
    (``loss``, ``rewards/margins``, ...), also written to ``output_dir/train_log.json``.
    ``progress`` shows the trainer's per-step bar.
    """
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    if model_dir is None:
        from societygym.llm.embedded import embedded_model_dir

        model_dir = embedded_model_dir()
    pairs = load_dpo_jsonl(pairs_path)
    if not pairs:
        raise ValueError(f"no preference pairs in {pairs_path}")
    dataset = Dataset.from_list(
        [{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in pairs]
    )
    use_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    config = DPOConfig(
        output_dir=str(output_dir),
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        learning_rate=learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=warmup_steps,
        beta=beta,
        max_length=max_length,
        seed=seed,
        bf16=use_bf16,  # TRL defaults to bf16, which is ~13x slower on CPUs without it
        fp16=False,
        gradient_checkpointing=False,  # the models here are small; it would only cost time
        disable_dropout=False,  # TRL would otherwise zero LoRA's dropout too
        dataloader_pin_memory=torch.cuda.is_available(),
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=not progress_bars.enabled(not progress),
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    trainer = DPOTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, task_type="CAUSAL_LM"
        ),
    )
    trainer.train()
    trainer.save_model(str(output_dir))
    log = [entry for entry in trainer.state.log_history if "loss" in entry]
    Path(output_dir, "train_log.json").write_text(json.dumps(log, indent=1))
    return log


def load_speaker(adapter_dir: str | Path | None = None, model_dir: str | Path | None = None) -> LLM:
    """The speaker as an LLM backend: the base model, or with a trained LoRA adapter merged in."""
    from societygym.llm.transformers_backend import TransformersLLM

    if model_dir is None:
        from societygym.llm.embedded import embedded_model_dir

        model_dir = embedded_model_dir()
    if adapter_dir is None:
        return TransformersLLM(model_dir)
    from societygym.llm.lora import load_lora_llm

    return load_lora_llm(adapter_dir, model_dir, name=f"lacie:{Path(adapter_dir).name}")


def explain_no_pairs(records: Sequence[Mapping[str, Any]], min_gap: float) -> str:
    """Why ``build_dpo_pairs`` found no pair in ``records``, and what to change."""
    if not records:
        return "no judged utterances: run `sample` with more --questions"
    usable = [r for r in records if not r["abstained"] and _has_content(r["anonymized"])]
    if not usable:
        return (
            f"all {len(records)} utterances are abstentions or hold nothing but the answer, so "
            "no listener judgement can rank them: sample more --questions or --n, or use a "
            "stronger speaker (--llm)"
        )
    p_values = {round(float(r["p_accept"]), 6) for r in usable}
    if len(p_values) == 1:
        return (
            f"the listener gave all {len(usable)} answered utterances the same p(accept) "
            f"({p_values.pop():.3f}); the lexical listener reads this speaker's phrasings "
            "alike: re-run `sample --listener llm` (LACIE's listener), or sample more --n"
        )
    return (
        f"among the {len(usable)} answered utterances, no two of the same question have "
        f"p(accept) at least --min-gap {min_gap} apart and different outcomes (right/wrong, "
        "accepted/rejected): sample more --n per question or more --questions, or lower "
        "--min-gap"
    )


def _cmd_sample(args: argparse.Namespace) -> None:
    from societygym.envs.trivia.calibration_env import make_extractor
    from societygym.envs.trivia.difficulty import choose_questions
    from societygym.envs.trivia.listeners import make_listener
    from societygym.llm import load_llm

    items = choose_questions(args.source, args.split, None, None, args.difficulty, "sample")
    if args.questions < len(items):
        items = random.Random(args.seed).sample(items, args.questions)
    start = time.perf_counter()
    records = sample_utterances(
        load_llm(args.llm),
        items,
        n=args.n,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        progress=not args.quiet,
    )
    listener = make_listener(args.listener)
    records = judge(records, listener, make_extractor(args.extractor), progress=not args.quiet)
    write_jsonl(records, args.out)
    correct = sum(r["correct"] for r in records)
    abstained = sum(r["abstained"] for r in records)
    print(
        f"{len(records)} utterances for {len(items)} questions in "
        f"{time.perf_counter() - start:.0f}s: {correct} correct, {abstained} abstentions "
        f"-> {args.out}"
    )


def _cmd_pairs(args: argparse.Namespace) -> None:
    threshold = args.threshold if args.threshold == "median" else float(args.threshold)
    records = read_jsonl(args.records)
    pairs = build_dpo_pairs(
        records,
        threshold=threshold,
        min_gap=args.min_gap,
        max_pairs_per_question=args.max_pairs,
        balance_types=not args.no_balance,
        seed=args.seed,
    )
    if not pairs:
        raise EmptyResult(f"0 pairs, nothing written: {explain_no_pairs(records, args.min_gap)}")
    export_dpo_jsonl(pairs, args.out)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(Counter(p["type"] for p in pairs).items()))
    print(f"{len(pairs)} pairs ({counts}) -> {args.out}")


def _cmd_train(args: argparse.Namespace) -> None:
    if not load_dpo_jsonl(args.pairs):
        raise EmptyResult(
            f"{args.pairs} holds no pairs: re-run `pairs` (it says why it found none)"
        )
    start = time.perf_counter()
    log = train_dpo(
        args.pairs,
        model_dir=args.model_dir,
        output_dir=args.out,
        max_steps=args.steps,
        learning_rate=args.lr,
        warmup_steps=args.warmup,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        seed=args.seed,
        progress=not args.quiet,
    )
    losses = [entry["loss"] for entry in log]
    final = f"{losses[-1]:.4f}" if losses else "n/a"
    print(
        f"{len(losses)} steps in {time.perf_counter() - start:.0f}s, final loss {final}; "
        f"adapter -> {args.out}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m societygym.baselines.lacie")
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="sample and judge speaker utterances")
    sample.add_argument("--llm", default="embedded", help="speaker LLM spec")
    sample.add_argument("--source", default="embedded", help="question source")
    sample.add_argument("--split", default="train")
    sample.add_argument(
        "--difficulty",
        type=int,
        default=None,
        help="only families of this level (1: those the embedded model answers right >= 20%%)",
    )
    sample.add_argument("--questions", type=int, default=50, help="questions to sample")
    sample.add_argument("--n", type=int, default=10, help="utterances per question")
    sample.add_argument("--temperature", type=float, default=0.7)
    sample.add_argument("--max-tokens", type=int, default=80, help="per utterance")
    sample.add_argument("--listener", default="lexical", help="'lexical', 'llm' or 'llm:<spec>'")
    sample.add_argument("--extractor", default="rule", help="'rule' or 'llm'")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", default="records.jsonl")
    add_quiet(sample)
    sample.set_defaults(run=_cmd_sample)

    pairs = commands.add_parser("pairs", help="build DPO preference pairs from judged records")
    pairs.add_argument("records")
    pairs.add_argument("--threshold", default="median", help="'median' or a probability")
    pairs.add_argument("--min-gap", type=float, default=0.1)
    pairs.add_argument("--max-pairs", type=int, default=3, help="per question")
    pairs.add_argument("--no-balance", action="store_true", help="keep every pair type's count")
    pairs.add_argument("--seed", type=int, default=0)
    pairs.add_argument("--out", default="pairs.jsonl")
    pairs.set_defaults(run=_cmd_pairs)

    train = commands.add_parser("train", help="DPO-train a LoRA adapter on the pairs")
    train.add_argument("pairs")
    train.add_argument("--model-dir", default=None, help="HF model folder (default: embedded)")
    train.add_argument("--steps", type=int, default=100)
    train.add_argument("--lr", type=float, default=5e-4)
    train.add_argument("--warmup", type=int, default=10, help="linear warmup steps")
    train.add_argument("--batch-size", type=int, default=4)
    train.add_argument("--grad-accum", type=int, default=4)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default="runs/lacie-dpo")
    add_quiet(train)
    train.set_defaults(run=_cmd_train)

    args = parser.parse_args(argv)
    return run_stage(parser.prog, args.run, args)


if __name__ == "__main__":
    sys.exit(main())
