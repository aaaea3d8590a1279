"""ReGAL's training loop: refactor batches of similar programs into helpers, keep what verifies.

Each round takes one batch of training tasks (similar queries, shortest batches first), shows
the LLM their programs and the most relevant helpers of the bank, and asks for new helpers and
rewritten programs. A rewritten program is accepted when, run after the helpers it calls, its
result matches the original's (``Domain.check``); new helpers are admitted only when an
accepted program calls them. Every rewritten program that calls bank helpers becomes a test
case of each of them, passing or failing. Every ``edit_every`` rounds the LLM rewrites helpers
that have failing test cases (kept only if more test cases pass), and every ``prune_every``
rounds the bank is pruned. ReGAL's scripts set both periods equal, which switched pruning off;
here they are independent and pruning always runs, also once at the end.

The bank is saved after every round, so ``resume=True`` continues an interrupted run: the
batches are deterministic, and ``train_config.json`` makes sure they are the same ones.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from societygym import progress as progress_bars
from societygym.baselines.regal.bm25 import BM25, group_similar
from societygym.baselines.regal.domains import Domain, Example, get_domain
from societygym.baselines.regal.prompts import (
    code_of,
    edit_prompt,
    parse_refactor,
    refactor_prompt,
)
from societygym.envs.programs.codebank import (
    CodeBank,
    Helper,
    InvalidHelper,
    TestCase,
    called_names,
    closure,
)
from societygym.llm.base import LLM

BANK_FILE, MODULE_FILE, LOG_FILE = "codebank.json", "codebank.py", "training_log.jsonl"
# the banks learned for the board, one ``<domain>/codebank.json`` each (see its README)
SHIPPED_BANKS_DIR = Path(__file__).parent / "banks"
CONFIG_FILE = "train_config.json"
BATCHING = ("domain", "batch_size", "limit")  # what a resumed run must share with the first


@dataclass
class TrainConfig:
    """Knobs of a run; ``None`` batch size means the domain's (ReGAL: LOGO 5, Date 3,
    TextCraft 4). ``limit`` takes that many training tasks, spread by a hash of their ids."""

    domain: str
    batch_size: int | None = None
    limit: int | None = None
    prune_every: int = 5
    edit_every: int = 5
    min_usage: int = 4
    threshold: float = 0.0
    grace_rounds: int = 20
    max_edits: int = 3
    helpers_in_prompt: int = 20
    max_tokens: int = 1024
    temperature: float = 0.0
    seed: int = 0


@dataclass
class RoundReport:
    """What one round did, as a line of ``training_log.jsonl``."""

    round: int
    tasks: list[str]
    added: list[str] = field(default_factory=list)
    rejected_helpers: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    pruned: list[str] | None = None  # None: no pruning this round
    tokens: dict[str, int] = field(default_factory=dict)


def select_examples(examples: Sequence[Example], limit: int | None) -> list[Example]:
    """``limit`` examples spread over the split (by a hash of the id), in the split's order."""
    if limit is None or limit >= len(examples):
        return list(examples)
    ranked = sorted(examples, key=lambda e: hashlib.sha256(e.id.encode()).hexdigest())
    kept = {e.id for e in ranked[:limit]}
    return [e for e in examples if e.id in kept]


def helper_document(helper: Helper) -> str:
    """What retrieval matches a helper by: its name, docstring and the queries it served."""
    queries = " ".join(t.query for t in helper.tests if t.passed)
    return f"{helper.name} {helper.docstring} {queries}"


def relevant_helpers(bank: CodeBank, queries: Sequence[str], budget: int) -> list[Helper]:
    """Up to ``budget`` helpers, an equal share retrieved per query, in bank order."""
    helpers = list(bank)
    if len(helpers) <= budget:
        return helpers
    index = BM25([helper_document(h) for h in helpers])
    share = max(1, budget // max(len(queries), 1))
    chosen = {i for query in queries for i in index.top(query, share)}
    return [h for i, h in enumerate(helpers) if i in chosen]


def verify_refactor(
    bank: CodeBank, domain: Domain, batch: Sequence[Example], reply: str, report: RoundReport
) -> None:
    """Check a refactoring reply and apply what verifies to the bank (see the module doc)."""
    refactor = parse_refactor(reply, len(batch))
    report.problems += refactor.problems
    candidates: dict[str, str] = {}
    known = set(bank.sources().values())
    for source in refactor.helpers:
        if source.strip() in known:
            continue  # the model repeated a bank helper: nothing new
        try:
            name = bank.vet(source, domain)
            if name in candidates:
                raise InvalidHelper(f"{name!r} is defined twice")
        except InvalidHelper as error:
            first_line = source.strip().splitlines()[0][:80] if source.strip() else "(empty)"
            report.rejected_helpers.append(f"{first_line} -> {error}")
            continue
        candidates[name] = source.strip()
    sources = {**bank.sources(), **candidates}
    rewritten = []  # (example, program, the helpers it needs)
    for index, example in enumerate(batch, 1):
        program = refactor.programs.get(index)
        if program is None:
            report.failed[example.id] = "no rewritten program"
        else:
            rewritten.append((example, program, closure(called_names(program, sources), sources)))
    checks = domain.check_many(
        [(program, [sources[n] for n in needed], e.expected) for e, program, needed in rewritten]
    )
    admitted: set[str] = set()
    for (example, _, needed), check in zip(rewritten, checks, strict=True):
        if check.passed:
            report.passed.append(example.id)
            admitted.update(needed)
        else:
            report.failed[example.id] = check.message
    for name in candidates:
        if name in admitted:
            bank.add(candidates[name], round=bank.round)
            report.added.append(name)
    for (example, program, _), check in zip(rewritten, checks, strict=True):
        direct = bank.calls(program)
        for name in direct:
            test = TestCase(
                task_id=example.id,
                query=example.query,
                program=program,
                expected=example.expected,
                calls=len(direct),
                history=[check.passed],
                message=check.message,
            )
            bank.record(name, test)


def edit_failing_helpers(
    bank: CodeBank, domain: Domain, llm: LLM, config: TrainConfig, report: RoundReport
) -> None:
    """Ask for a rewrite of the worst helpers with failing test cases; keep improvements."""
    failing = sorted(
        (h for h in bank if any(not t.passed for t in h.tests)), key=lambda h: (h.score, h.name)
    )[: config.max_edits]
    if not failing:
        return
    prompts = []
    for helper in failing:
        shortest = sorted(helper.tests, key=lambda t: len(t.program))
        passing = [t for t in shortest if t.passed][:2]
        failed = [t for t in shortest if not t.passed][:2]
        prompts.append([{"role": "user", "content": edit_prompt(domain, helper, passing, failed)}])
    replies = _generate(llm, prompts, config, report)
    for helper, reply in zip(failing, replies, strict=True):
        accepted, why = bank.try_edit(helper.name, code_of(reply), domain)
        report.edits.append({"helper": helper.name, "accepted": accepted, "why": why})


def _generate(llm: LLM, prompts: list, config: TrainConfig, report: RoundReport) -> list[str]:
    before = llm.usage.snapshot()
    generations = llm.generate(
        prompts,
        max_tokens=config.max_tokens,
        temperature=config.temperature,
        seed=config.seed + report.round,  # sampled runs differ from round to round
    )
    for key, value in llm.usage.since(before).items():
        report.tokens[key] = report.tokens.get(key, 0) + value
    return [g[0].text for g in generations]


def train(
    llm: LLM,
    config: TrainConfig,
    out_dir: str | Path,
    resume: bool = False,
    log: Callable[[str], None] = print,
    progress: bool = False,
) -> CodeBank:
    """Run ReGAL on the domain's training split; writes ``codebank.json``, ``codebank.py``
    and ``training_log.jsonl`` to ``out_dir`` and returns the bank. ``progress`` shows a
    bar of rounds (``log`` lines print above it)."""
    out = Path(out_dir)
    domain = get_domain(config.domain)
    examples = select_examples(domain.examples("train"), config.limit)
    # the originals must run and match their expected results, or no rewrite can be judged
    originals = domain.check_many([(e.program, (), e.expected) for e in examples])
    broken = [e.id for e, c in zip(examples, originals, strict=True) if not c.passed]
    if broken:
        log(f"skipping {len(broken)} tasks whose original program fails: {broken[:5]}")
    examples = [e for e, c in zip(examples, originals, strict=True) if c.passed]
    size = config.batch_size or domain.batch_size
    batches = [[examples[i] for i in g] for g in group_similar([e.query for e in examples], size)]
    bank = _start(out, domain, config, resume)
    done = bank.round  # a resumed run starts there
    with progress_bars.bar(
        len(batches), "rounds", "round", initial=done, quiet=not progress
    ) as bar:
        for batch in batches[done:]:
            _round(bank, domain, llm, config, batch, len(batches), out, log)
            bar.update(1)
    bank.save(out / BANK_FILE)
    bank.export(out / MODULE_FILE)
    return bank


def _round(
    bank: CodeBank,
    domain: Domain,
    llm: LLM,
    config: TrainConfig,
    batch: list[Example],
    rounds: int,
    out: Path,
    log: Callable[[str], None],
) -> None:
    """One round: refactor ``batch``, maybe edit and prune, save the bank, log the report."""
    bank.round += 1
    report = RoundReport(bank.round, [e.id for e in batch])
    shown = relevant_helpers(bank, [e.query for e in batch], config.helpers_in_prompt)
    prompt = [{"role": "user", "content": refactor_prompt(domain, batch, shown)}]
    verify_refactor(bank, domain, batch, _generate(llm, [prompt], config, report)[0], report)
    if bank.round % config.edit_every == 0:
        edit_failing_helpers(bank, domain, llm, config, report)
    if bank.round % config.prune_every == 0 or bank.round == rounds:
        report.pruned = bank.prune(config.min_usage, config.threshold, config.grace_rounds)
    bank.save(out / BANK_FILE)
    _append_log(out, report)
    log(
        f"round {bank.round}/{rounds}: {len(report.passed)}/{len(batch)} rewrites "
        f"verified, {len(report.added)} helpers added, bank has {len(bank)}"
    )


def _start(out: Path, domain: Domain, config: TrainConfig, resume: bool) -> CodeBank:
    """A fresh bank (and log), or the saved one when resuming the same batching."""
    saved = out / CONFIG_FILE
    if resume and saved.exists():
        before = json.loads(saved.read_text(encoding="utf-8"))
        changed = [k for k in BATCHING if before.get(k) != getattr(config, k)]
        if changed:
            raise ValueError(f"cannot resume with another {', '.join(changed)} than {saved}")
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(asdict(config), indent=1), encoding="utf-8")
    if resume and (out / BANK_FILE).exists():
        bank = CodeBank.load(out / BANK_FILE)
        if bank.domain != domain.name:
            raise ValueError(f"{out / BANK_FILE} is a {bank.domain!r} bank, not {domain.name!r}")
        return bank
    (out / LOG_FILE).unlink(missing_ok=True)
    return CodeBank(domain.name)


def _append_log(out: Path, report: RoundReport) -> None:
    with (out / LOG_FILE).open("a", encoding="utf-8") as log:
        log.write(json.dumps(asdict(report)) + "\n")


def explain_empty_bank(out_dir: str | Path) -> str:
    """Why a run in ``out_dir`` kept no helper, from its log, and what to change."""
    reports = [
        json.loads(line)
        for line in (Path(out_dir) / LOG_FILE).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    tried = sum(len(r["tasks"]) for r in reports)
    verified = sum(len(r["passed"]) for r in reports)
    reasons = Counter(
        message.split(":")[0][:60]
        for r in reports
        for message in [*r["failed"].values(), *r["problems"]]
    )
    common = "; ".join(f"{reason} ({count})" for reason, count in reasons.most_common(3))
    why = f"{verified} of {tried} rewritten programs verified in {len(reports)} rounds" + (
        f"; most common failures: {common}" if common else ""
    )
    if verified:
        why += (
            "; the helpers they called were pruned for too few uses (lower --min-usage, or "
            "train on more tasks with --limit)"
        )
    return (
        f"{why}. ReGAL keeps only helpers that verified rewrites call, so the model must "
        "answer in the NEW HELPERS / NEW PROGRAM format with working code: try a stronger "
        f"model (--llm hf:<dir> or openai:<model>); {LOG_FILE} has every round's reasons"
    )
