"""PBT's dialogue trees: counterfactual discussions, their scores, and preference pairs.

1. ``build_trees``: per question, ``agent_0`` opens under a role drawn from
   ``opening_roles``; ``agent_1`` opens independently once per role of its own; from then
   on the agents alternate, and every turn gets one reply per role of the next speaker, so
   siblings share their context and differ only in role (and sample). A branch stops when
   the agents agree or at ``max_depth`` turns. Generation is batched over a whole tree level
   of every question, with any ``LLM`` backend.
2. ``score_tree``: s(n) = c(n) + sum of s over n's children, where c(n) in {0, 1, 2} counts
   the agents whose answer is right after turn n: the downstream value of a turn.
3. ``extract_pairs``: pairs of siblings with the same number of children, not both with
   both agents right, and a relative score gap |s_a - s_b| / max(s_a, s_b) above 0.5; the
   higher-scoring reply is chosen. A pair is *resist* when the responder was right before
   the partner's turn, the chosen reply stays right and the rejected one goes wrong; it is
   *accept* when the responder was wrong before, the chosen reply is right and the
   rejected one wrong. (PBT's "parent sum" conditions follow from these once each agent's
   answer sits under its own key.) The prompt is the dialogue up to the parent from the
   responder's side under the plain standard prompt, so no role text leaks into training.
4. ``balance_pairs`` keeps equal numbers of resist and accept pairs; ``split_trees`` drops
   trees without any discussion and splits 70/15/15; ``sft_rows``/``dpo_rows`` are TRL's
   conversational SFT and preference formats.

Run it from the shell: ``python -m societygym.baselines.persuasion_trees {build,pairs,show}``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from societygym import progress as progress_bars
from societygym.baselines.cli import EmptyResult, add_quiet
from societygym.baselines.cli import run as run_stage
from societygym.baselines.lacie import read_jsonl, write_jsonl
from societygym.envs.persuasion.dialogue import AGENTS, Dialogue, Turn, extract_answers
from societygym.envs.persuasion.partners import generate_replies, role_messages
from societygym.envs.persuasion.prompts import RESPONDER_ROLES, ROLES, STYLES
from societygym.envs.trivia.answers import AnswerExtractor, RuleBasedExtractor, is_correct
from societygym.envs.trivia.data import TriviaItem
from societygym.llm.base import LLM, Message

RESIST, ACCEPT = "resist", "accept"
Record = dict[str, Any]


@dataclass(frozen=True)
class TreeConfig:
    """PBT's setup: persuaders for ``agent_0``, a resistant or acceptant ``agent_1``, four
    turns, temperature 0.7, 80 new tokens."""

    roles: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {AGENTS[0]: STYLES, AGENTS[1]: RESPONDER_ROLES}
    )
    opening_roles: Sequence[str] = ("resistant", "logical")
    max_depth: int = 4
    temperature: float = 0.7
    max_tokens: int = 80

    def __post_init__(self) -> None:
        unknown = {r for rs in [*self.roles.values(), self.opening_roles] for r in rs} - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; expected some of {sorted(ROLES)}")
        if set(self.roles) != set(AGENTS) or not all(self.roles.values()):
            raise ValueError(f"roles must give at least one role to each of {AGENTS}")
        if not self.opening_roles or self.max_depth < 1:
            raise ValueError("need opening_roles and max_depth >= 1")


@dataclass
class Node:
    """One turn of a tree: the utterance, the role it was generated under, whether each
    agent's answer is right after it, and its score s(n) once scored."""

    turn: Turn
    role: str
    correct: dict[str, bool]
    children: list[Node] = field(default_factory=list)
    score: int = 0

    @property
    def c(self) -> int:
        return sum(self.correct.values())

    @property
    def speaker(self) -> str:
        return self.turn.speaker

    def to_dict(self) -> Record:
        return {
            **self.turn.to_dict(),
            "role": self.role,
            "correct": dict(self.correct),
            "score": self.score,
            "children": [child.to_dict() for child in self.children],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Node:
        return cls(
            turn=Turn.from_dict(data),
            role=data["role"],
            correct=dict(data["correct"]),
            children=[cls.from_dict(child) for child in data["children"]],
            score=int(data.get("score", 0)),
        )


def make_node(item: TriviaItem, turn: Turn, role: str) -> Node:
    return Node(
        turn, role, {a: is_correct(answer, item.answers) for a, answer in turn.answers.items()}
    )


@dataclass
class Tree:
    item: TriviaItem
    root: Node

    def paths(self) -> Iterator[list[Node]]:
        """Every node with its ancestors, as the path from the root to it (pre-order)."""
        stack = [[self.root]]
        while stack:
            path = stack.pop()
            yield path
            stack.extend([*path, child] for child in reversed(path[-1].children))

    def dialogue(self, path: Sequence[Node]) -> Dialogue:
        return Dialogue(self.item, AGENTS, [node.turn for node in path])

    def to_dict(self) -> Record:
        item = self.item
        return {
            "question_id": item.id,
            "question": item.question,
            "answers": list(item.answers),
            "family": item.family,
            "split": item.split,
            "distractors": list(item.distractors),
            "root": self.root.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tree:
        item = TriviaItem(
            id=data["question_id"],
            question=data["question"],
            answers=tuple(data["answers"]),
            family=data.get("family", ""),
            split=data.get("split", ""),
            distractors=tuple(data.get("distractors", ())),
        )
        return cls(item, Node.from_dict(data["root"]))


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


@dataclass
class _Job:
    tree_index: int
    path: list[Node]  # the ancestors of the node to generate
    role: str


def build_trees(
    items: Sequence[TriviaItem],
    llm: LLM,
    config: TreeConfig | None = None,
    *,
    seed: int = 0,
    extractor: AnswerExtractor | None = None,
    progress: bool = False,
) -> list[Tree]:
    """One tree per item; each level of all trees is one batched ``llm.generate`` call and
    one batched extraction. ``seed`` drives the opening roles and the sampling.

    ``progress`` shows a bar of turns that moves with every generated turn. Its total starts
    at the full trees' size and drops by a branch's unborn subtree when the branch ends in
    agreement, so its ETA is an upper bound that tightens."""
    config = config or TreeConfig()
    extractor = extractor or RuleBasedExtractor()
    rng = np.random.default_rng(seed)
    below = _nodes_below(config)
    with (
        progress_bars.bar(len(items) * (1 + below[0]), "turns", "turn", quiet=not progress) as bar,
        progress_bars.count_generations(bar.update),
    ):
        roles = config.opening_roles
        jobs = [_Job(i, [], roles[int(rng.integers(len(roles)))]) for i in range(len(items))]
        roots = _generate(items, jobs, llm, config, extractor, rng)
        trees = [Tree(item, root) for item, root in zip(items, roots, strict=True)]
        frontier = [(i, [tree.root]) for i, tree in enumerate(trees)]
        done = len(jobs)
        for depth in range(1, config.max_depth):
            progress_bars.advance_to(bar, done)
            speaker = AGENTS[depth % 2]
            jobs = [_Job(i, path, role) for i, path in frontier for role in config.roles[speaker]]
            nodes = _generate(items, jobs, llm, config, extractor, rng)
            done += len(jobs)
            frontier = []
            for job, node in zip(jobs, nodes, strict=True):
                job.path[-1].children.append(node)
                path = [*job.path, node]
                if (
                    depth + 1 < config.max_depth
                    and not trees[job.tree_index].dialogue(path).agreed()
                ):
                    frontier.append((job.tree_index, path))
                else:
                    bar.total -= below[depth]
            if not frontier:
                break
        progress_bars.advance_to(bar, done)
    for tree in trees:
        score_tree(tree.root)
    return trees


def _nodes_below(config: TreeConfig) -> list[int]:
    """How many turns a full tree holds under a turn at each depth."""
    below = [0] * config.max_depth
    for depth in range(config.max_depth - 2, -1, -1):
        children = len(config.roles[AGENTS[(depth + 1) % 2]])
        below[depth] = children * (1 + below[depth + 1])
    return below


def _generate(
    items: Sequence[TriviaItem],
    jobs: Sequence[_Job],
    llm: LLM,
    config: TreeConfig,
    extractor: AnswerExtractor,
    rng: np.random.Generator,
) -> list[Node]:
    """The node of every job: openings (depth 0 and 1) see only the question."""
    dialogues, prompts = [], []
    for job in jobs:
        item = items[job.tree_index]
        dialogue = Dialogue(item, AGENTS, [node.turn for node in job.path])
        speaker = AGENTS[len(job.path) % 2]
        history = dialogue.history(speaker) if len(job.path) >= 2 else []
        dialogues.append(dialogue)
        prompts.append(role_messages(job.role, item.question, history))
    texts = generate_replies(
        llm,
        prompts,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        seed=int(rng.integers(2**31 - 1)),
    )
    questions = [items[job.tree_index].question for job in jobs]
    answers = extract_answers(texts, questions, extractor)
    nodes = []
    for job, dialogue, text, answer in zip(jobs, dialogues, texts, answers, strict=True):
        depth = len(job.path)
        turn = dialogue.add(AGENTS[depth % 2], text, answer, opening=depth < 2)
        nodes.append(make_node(dialogue.item, turn, job.role))
    return nodes


# ---------------------------------------------------------------------------
# Scoring and pairs
# ---------------------------------------------------------------------------


def score_tree(node: Node) -> int:
    """Fill in s(n) = c(n) + sum of s over the children, for ``node`` and its subtree."""
    node.score = node.c + sum(score_tree(child) for child in node.children)
    return node.score


def count_nodes(trees: Sequence[Tree]) -> int:
    return sum(1 for tree in trees for _ in tree.paths())


@dataclass(frozen=True)
class PreferencePair:
    question_id: str
    responder: str
    prompt: list[Message]
    chosen: str
    rejected: str
    label: str | None  # RESIST, ACCEPT, or None when neither rule applies
    gap: float
    chosen_score: int
    rejected_score: int
    depth: int  # of the chosen and rejected turns (the root is 0)


def label_pair(chosen: Node, rejected: Node, grandparent: Node | None) -> str | None:
    """Resist or accept, from the responder's answer before the partner's turn (at the
    grandparent, its own previous turn) and in the two replies."""
    responder = chosen.speaker
    if grandparent is None or not chosen.correct[responder] or rejected.correct[responder]:
        return None
    return RESIST if grandparent.correct[responder] else ACCEPT


def sibling_pairs(tree: Tree, min_gap: float = 0.5) -> list[PreferencePair]:
    """The preference pairs among the siblings of every node of a scored tree."""
    pairs = []
    for path in tree.paths():
        parent = path[-1]
        grandparent = path[-2] if len(path) >= 2 else None
        for a, b in itertools.combinations(parent.children, 2):
            if len(a.children) != len(b.children) or (a.c == 2 and b.c == 2):
                continue
            high = max(a.score, b.score)
            if high <= 0 or abs(a.score - b.score) / high <= min_gap:
                continue
            chosen, rejected = (a, b) if a.score > b.score else (b, a)
            history = tree.dialogue(path).history(chosen.speaker)
            pairs.append(
                PreferencePair(
                    question_id=tree.item.id,
                    responder=chosen.speaker,
                    prompt=role_messages("standard", tree.item.question, history),
                    chosen=chosen.turn.text,
                    rejected=rejected.turn.text,
                    label=label_pair(chosen, rejected, grandparent),
                    gap=abs(a.score - b.score) / high,
                    chosen_score=chosen.score,
                    rejected_score=rejected.score,
                    depth=len(path),
                )
            )
    return pairs


def extract_pairs(trees: Sequence[Tree], min_gap: float = 0.5) -> list[PreferencePair]:
    """Sibling pairs of every tree (scored afresh), deduplicated, largest gap first."""
    seen: set[tuple[str, str, str, str]] = set()
    pairs = []
    for tree in trees:
        score_tree(tree.root)
        for pair in sibling_pairs(tree, min_gap):
            key = (pair.question_id, json.dumps(pair.prompt), pair.chosen, pair.rejected)
            if key not in seen:
                seen.add(key)
                pairs.append(pair)
    return sorted(pairs, key=lambda p: -p.gap)  # stable: ties keep tree order


def balance_pairs(pairs: Sequence[PreferencePair], seed: int = 0) -> list[PreferencePair]:
    """Equal numbers of resist and accept pairs (the rarer kind's count), drawn at random
    from the more common kind; unlabelled pairs are dropped; order is kept."""
    rng = random.Random(seed)
    by_label = {
        label: [i for i, p in enumerate(pairs) if p.label == label] for label in (RESIST, ACCEPT)
    }
    quota = min(len(indices) for indices in by_label.values())
    keep = {i for indices in by_label.values() for i in rng.sample(indices, quota)}
    return [pair for i, pair in enumerate(pairs) if i in keep]


def discussed(tree: Tree) -> bool:
    """Whether the agents disagreed after their openings, so a discussion followed."""
    return any(len(path) > 2 for path in tree.paths())


def split_trees(
    trees: Sequence[Tree], fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> dict[str, list[Tree]]:
    """Train/dev/test splits of the trees that hold a discussion, shuffled with ``seed``."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError("fractions must be three numbers summing to 1")
    kept = sorted((t for t in trees if discussed(t)), key=lambda t: t.item.id)
    random.Random(seed).shuffle(kept)
    n_train = round(fractions[0] * len(kept))
    n_dev = round(fractions[1] * len(kept))
    return {
        "train": kept[:n_train],
        "dev": kept[n_train : n_train + n_dev],
        "test": kept[n_train + n_dev :],
    }


def _meta(pair: PreferencePair) -> Record:
    return {"question_id": pair.question_id, "label": pair.label, "gap": pair.gap}


def dpo_rows(pairs: Sequence[PreferencePair]) -> list[Record]:
    """TRL's conversational preference format (metadata in extra keys)."""
    return [
        {
            "prompt": pair.prompt,
            "chosen": [{"role": "assistant", "content": pair.chosen}],
            "rejected": [{"role": "assistant", "content": pair.rejected}],
            **_meta(pair),
        }
        for pair in pairs
    ]


def sft_rows(pairs: Sequence[PreferencePair]) -> list[Record]:
    """TRL's conversational language-modelling format: the prompt and the chosen reply."""
    return [
        {"messages": [*pair.prompt, {"role": "assistant", "content": pair.chosen}], **_meta(pair)}
        for pair in pairs
    ]


# ---------------------------------------------------------------------------
# Files and printing
# ---------------------------------------------------------------------------


def save_trees(trees: Sequence[Tree], path: str | Path) -> Path:
    """One JSON tree per line."""
    return write_jsonl((tree.to_dict() for tree in trees), path)


def load_trees(path: str | Path) -> list[Tree]:
    return [Tree.from_dict(row) for row in read_jsonl(path)]


def format_tree(tree: Tree, width: int = 100) -> str:
    """An indented transcript: each turn under the one it answers, with its role, both
    agents' answers (+ right, - wrong), c(n) and s(n)."""
    lines = [f"Question: {tree.item.question}  (gold: {tree.item.answers[0]})"]
    for path in tree.paths():
        node = path[-1]
        answers = ", ".join(
            f"{a}={node.turn.answers[a]}{'+' if node.correct[a] else '-'}" for a in AGENTS
        )
        indent = "  " * (len(path) - 1)
        text = " ".join(node.turn.text.split())
        text = text if len(text) <= width else text[: width - 3] + "..."
        lines.append(f"{indent}{node.speaker} [{node.role}] {answers} c={node.c} s={node.score}")
        lines.append(f"{indent}  > {text}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def explain_no_pairs(trees: Sequence[Tree], found: Sequence[PreferencePair]) -> str:
    """Why a set of trees gave no balanced pair, and what to change."""
    if not trees:
        return "no trees: run `build` with more --questions"
    talked = [tree for tree in trees if discussed(tree)]
    if not talked:
        return (
            f"none of the {len(trees)} trees holds a discussion (the agents agreed right after "
            "their openings, often because both gave the same wrong answer): build more "
            "--questions"
        )
    labels = Counter(pair.label for pair in found)
    if not found:
        return (
            f"no two sibling turns in the {len(talked)} discussed trees differ in score by more "
            "than --min-gap (siblings that all stay right or all stay wrong tie): build more "
            "--questions, or lower --min-gap"
        )
    if not labels[RESIST] and not labels[ACCEPT]:
        return (
            f"{len(found)} sibling pairs, but none is a resist or an accept pair (the responder "
            "must end right in the chosen reply and wrong in the rejected one): build more "
            "--questions, or with a stronger --llm"
        )
    return (
        f"{labels[RESIST]} resist and {labels[ACCEPT]} accept pairs: balancing keeps as many of "
        "each as the rarer kind has, so none: build more --questions, or pass --no-balance"
    )


def _cmd_build(args: argparse.Namespace) -> None:
    from societygym.envs.trivia.calibration_env import make_extractor
    from societygym.envs.trivia.difficulty import choose_questions
    from societygym.llm import load_llm

    items = choose_questions(args.source, args.split, None, None, args.difficulty, "build")
    if args.questions < len(items):
        items = random.Random(args.seed).sample(items, args.questions)
    config = TreeConfig(
        max_depth=args.max_depth, temperature=args.temperature, max_tokens=args.max_tokens
    )
    llm = load_llm(args.llm)
    start = time.perf_counter()
    trees = build_trees(
        items,
        llm,
        config,
        seed=args.seed,
        extractor=make_extractor(args.extractor),
        progress=not args.quiet,
    )
    elapsed = time.perf_counter() - start
    save_trees(trees, args.out)
    nodes = count_nodes(trees)
    talked = sum(discussed(tree) for tree in trees)
    print(
        f"{len(trees)} trees ({talked} with a discussion), {nodes} turns in {elapsed:.0f}s "
        f"({nodes / max(elapsed, 1e-9):.1f} turns/s) -> {args.out}"
    )


def _cmd_pairs(args: argparse.Namespace) -> None:
    trees = load_trees(args.trees)
    out = Path(args.out_dir)
    splits = split_trees(trees, seed=args.seed)
    kept: dict[str, list[PreferencePair]] = {}
    lines = []
    for split, split_trees_ in splits.items():
        found = extract_pairs(split_trees_, args.min_gap)
        if args.no_balance:
            kept[split] = [pair for pair in found if pair.label in (RESIST, ACCEPT)]
        else:
            kept[split] = balance_pairs(found, seed=args.seed)
        labels = Counter(p.label for p in found)
        lines.append(
            f"{split}: {len(split_trees_)} trees, {len(found)} pairs "
            f"({labels[RESIST]} resist, {labels[ACCEPT]} accept) -> {len(kept[split])} "
            + ("kept" if args.no_balance else "balanced")
        )
    if not any(kept.values()):
        found = extract_pairs(trees, args.min_gap)
        raise EmptyResult(f"0 pairs, nothing written: {explain_no_pairs(trees, found)}")
    print("\n".join(lines))
    for split, pairs in kept.items():
        if pairs:  # an empty split file would only fail later, when a trainer loads it
            write_jsonl(sft_rows(pairs), out / f"{split}.sft.jsonl")
            write_jsonl(dpo_rows(pairs), out / f"{split}.dpo.jsonl")
    empty = [split for split, pairs in kept.items() if not pairs]
    skipped = f" (no file for {', '.join(empty)}: no pairs there)" if empty else ""
    print(f"SFT and DPO JSONL -> {out}{skipped}")


def _cmd_show(args: argparse.Namespace) -> None:
    trees = load_trees(args.trees)
    chosen = trees if args.index is None else [trees[args.index]]
    print("\n\n".join(format_tree(tree) for tree in chosen))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m societygym.baselines.persuasion_trees")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="generate dialogue trees with an LLM")
    build.add_argument("--llm", default="embedded", help="LLM spec for both agents")
    build.add_argument("--source", default="embedded", help="question source")
    build.add_argument("--split", default="train")
    build.add_argument(
        "--difficulty",
        type=int,
        default=None,
        help="only families of this level (1: those the embedded model answers right >= 20%%)",
    )
    build.add_argument("--questions", type=int, default=20)
    build.add_argument("--max-depth", type=int, default=4, help="turns per branch")
    build.add_argument("--temperature", type=float, default=0.7)
    build.add_argument("--max-tokens", type=int, default=80)
    build.add_argument("--extractor", default="rule", help="'rule' or 'llm'")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--out", default="trees.jsonl")
    add_quiet(build)
    build.set_defaults(run=_cmd_build)

    pairs = commands.add_parser("pairs", help="split trees and export balanced SFT/DPO pairs")
    pairs.add_argument("trees")
    pairs.add_argument("--min-gap", type=float, default=0.5)
    pairs.add_argument(
        "--no-balance", action="store_true", help="keep every resist and accept pair"
    )
    pairs.add_argument("--seed", type=int, default=0)
    pairs.add_argument("--out-dir", default="pbt-data")
    pairs.set_defaults(run=_cmd_pairs)

    show = commands.add_parser("show", help="print trees as indented transcripts")
    show.add_argument("trees")
    show.add_argument("--index", type=int, default=None, help="one tree (default: all)")
    show.set_defaults(run=_cmd_show)

    args = parser.parse_args(argv)
    return run_stage(parser.prog, args.run, args)


if __name__ == "__main__":
    sys.exit(main())
