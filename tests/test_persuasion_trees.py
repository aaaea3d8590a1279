from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from societygym.baselines import persuasion_trees as pt
from societygym.envs.persuasion.dialogue import Dialogue, Turn
from societygym.envs.persuasion.partners import LLMPartner, PartnerRequest
from societygym.envs.persuasion.prompts import ROLES, STANDARD
from societygym.envs.persuasion.scripted_roles import ScriptedRoleLLM
from societygym.envs.trivia.data import TriviaItem, load_embedded

A0, A1 = "agent_0", "agent_1"
PERU = TriviaItem(
    id="capital-of/peru",
    question="What is the capital of Peru?",
    answers=("Lima",),
    family="capital-of",
    split="train",
    distractors=("Quito", "Bogota"),
)


def node(speaker: str, role: str, a0: str | None, a1: str | None, *children: pt.Node) -> pt.Node:
    """A hand-built turn whose text is the speaker's answer."""
    answers = {A0: a0, A1: a1}
    turn = Turn(speaker, f"It is {answers[speaker]}.", answers, "stated", opening=False)
    return pt.Node(turn, role, {a: answers[a] == "Lima" for a in answers}, list(children))


def hand_built_tree() -> pt.Tree:
    """Gold Lima. Expected scores in brackets: s = c + sum of the children's s.

    R  A: Lima            c1 [9]
    ├─ X1  B: Quito       c1 [6]
    │  ├─ X1a A: Lima     c1 [4]
    │  │  ├─ B: Quito     c1 [1]
    │  │  └─ B: Lima      c2 [2]   gap 1/2 = 0.5, not > 0.5: no pair
    │  ├─ X1b A: Bogota   c0 [1]   X1a vs X1b: gap 3/4, A was right -> resist
    │  │  ├─ B: Quito     c0 [0]
    │  │  └─ B: Lima      c1 [1]   gap 1, B was wrong, now right -> accept
    │  └─ X1c A: Quito    c0 [0]   a leaf: other child counts, no pairs
    └─ X2  B: Lima        c2 [2]   a leaf next to X1 (3 children): no pair
    """
    x1a = node(A0, "logical", "Lima", "Quito", node(A1, "resistant", "Lima", "Quito"),
               node(A1, "acceptant", "Lima", "Lima"))  # fmt: skip
    x1b = node(A0, "emotional", "Bogota", "Quito", node(A1, "resistant", "Bogota", "Quito"),
               node(A1, "acceptant", "Bogota", "Lima"))  # fmt: skip
    x1c = node(A0, "credibility", "Quito", "Quito")
    x1 = node(A1, "resistant", "Lima", "Quito", x1a, x1b, x1c)
    x2 = node(A1, "acceptant", "Lima", "Lima")
    root = node(A0, "logical", "Lima", None, x1, x2)
    return pt.Tree(PERU, root)


def test_scores_of_a_hand_built_tree() -> None:
    tree = hand_built_tree()
    assert pt.score_tree(tree.root) == 9
    x1, x2 = tree.root.children
    assert [x1.score, x2.score] == [6, 2]
    assert [c.score for c in x1.children] == [4, 1, 0]
    assert [[g.score for g in c.children] for c in x1.children] == [[1, 2], [0, 1], []]


def test_pairs_of_a_hand_built_tree() -> None:
    pairs = pt.extract_pairs([hand_built_tree()])
    assert [(p.label, p.gap, p.chosen_score, p.rejected_score) for p in pairs] == [
        ("accept", 1.0, 1, 0),
        ("resist", 0.75, 4, 1),
    ]
    accept, resist = pairs
    assert (resist.responder, resist.chosen, resist.rejected) == (
        A0,
        "It is Lima.",
        "It is Bogota.",
    )
    assert (accept.responder, accept.chosen, accept.depth) == (A1, "It is Lima.", 3)
    # The prompt is the plain standard prompt and the dialogue from the responder's side.
    assert resist.prompt == [
        {"role": "user", "content": f"{STANDARD}\n\nQuestion: {PERU.question}"},
        {"role": "assistant", "content": "It is Lima."},
        {"role": "user", "content": "It is Quito."},
    ]
    # A looser threshold lets in the 2-vs-1 leaves: agent_1, wrong before, gives in to the
    # right answer (chosen) or keeps the wrong one (rejected).
    looser = pt.extract_pairs([hand_built_tree()], min_gap=0.4)
    assert len(looser) == 3 and looser[-1].gap == 0.5 and looser[-1].label == "accept"


def test_siblings_with_both_agents_right_are_never_paired() -> None:
    both = node(A1, "acceptant", "Lima", "Lima", node(A0, "x", "Lima", "Lima",
                node(A1, "x", "Lima", "Lima")))  # fmt: skip
    low = node(A1, "acceptant", "Lima", "Lima", node(A0, "x", "Quito", "Lima",
               node(A1, "x", "Quito", "Quito")))  # fmt: skip
    tree = pt.Tree(PERU, node(A0, "logical", "Lima", None, both, low))
    pt.score_tree(tree.root)
    assert (both.score, low.score) == (6, 3)  # gap 0.5: only a looser threshold would pair
    assert pt.extract_pairs([tree], min_gap=0.4) == []


def test_balance_is_exact_and_seeded() -> None:
    base = pt.extract_pairs([hand_built_tree()])
    pairs = [*base, *[p for p in base if p.label == "resist"] * 3]
    pairs = [replace(p, chosen=f"{p.chosen} {i}") for i, p in enumerate(pairs)]
    pairs.append(replace(base[0], label=None))
    balanced = pt.balance_pairs(pairs, seed=3)
    assert [p.label for p in balanced].count("resist") == 1
    assert [p.label for p in balanced].count("accept") == 1
    assert pt.balance_pairs(pairs, seed=3) == balanced
    assert {p.chosen for s in range(20) for p in pt.balance_pairs(pairs, seed=s)} > {
        p.chosen for p in balanced
    }


def test_exports_are_trl_conversational() -> None:
    from trl.data_utils import apply_chat_template, is_conversational

    from societygym.llm import tiny_llm_dir

    pairs = pt.extract_pairs([hand_built_tree()])
    dpo, sft = pt.dpo_rows(pairs), pt.sft_rows(pairs)
    assert is_conversational(dpo[0]) and is_conversational(sft[0])
    assert sft[1]["messages"][-1] == {"role": "assistant", "content": "It is Lima."}
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llm_dir())
    row = {k: dpo[1][k] for k in ("prompt", "chosen", "rejected")}
    rendered = apply_chat_template(row, tokenizer)
    assert rendered["chosen"].startswith("It is Lima.") and "Question:" in rendered["prompt"]
    assert not any(text in json.dumps(dpo) for text in ROLES.values() if text)


def test_save_load_and_print(tmp_path) -> None:
    tree = hand_built_tree()
    pt.score_tree(tree.root)
    path = pt.save_trees([tree], tmp_path / "trees.jsonl")
    (loaded,) = pt.load_trees(path)
    assert loaded.to_dict() == tree.to_dict() and loaded.item == PERU
    text = pt.format_tree(loaded)
    assert "agent_0 [logical] agent_0=Lima+, agent_1=None- c=1 s=9" in text.splitlines()[1]
    assert "      agent_1 [acceptant] agent_0=Bogota-, agent_1=Lima+ c=1 s=1" in text


def test_split_drops_trees_without_discussion() -> None:
    quiet = pt.Tree(PERU, node(A0, "logical", "Lima", None, node(A1, "acceptant", "Lima", "Lima")))
    trees = [
        pt.Tree(TriviaItem(f"q/{i}", "Q?", ("a",), "f", "train"), hand_built_tree().root)
        for i in range(20)
    ]
    splits = pt.split_trees([*trees, quiet], seed=1)
    assert [len(splits[k]) for k in ("train", "dev", "test")] == [14, 3, 3]
    assert all(quiet not in part for part in splits.values())
    assert pt.split_trees(trees, seed=1) == splits


# --- building with a deterministic LLM double ---------------------------------------------


class RoleDouble(ScriptedRoleLLM):
    """Records the batches the builder sends: agent_0's roles argue for the gold answer,
    agent_1 opens with a wrong one and its acceptant role gives in once it has heard."""

    def __init__(self, items) -> None:
        super().__init__(items)
        self.batches: list[list] = []

    def generate(self, prompts, **kwargs):
        self.batches.append(list(prompts))
        return super().generate(prompts, **kwargs)


def test_build_trees_batches_levels_and_stops_on_agreement() -> None:
    items = load_embedded("train")[:3]
    llm = RoleDouble(items)
    trees = pt.build_trees(items, llm, pt.TreeConfig(opening_roles=("logical",)), seed=0)
    assert len(llm.batches) == 4 and [len(b) for b in llm.batches] == [3, 6, 18, 36]
    # agent_1's openings see only the question; later turns see the dialogue.
    assert all(len(messages) == 1 for messages in llm.batches[1])
    assert all(len(messages) == 3 for messages in llm.batches[3])
    tree = trees[0]
    assert pt.count_nodes([tree]) == 1 + 2 + 6 + 12
    # agent_0 right, agent_1 wrong until an acceptant reply agrees (c = 2).
    assert tree.root.score == 1 + 2 * (1 + 3 * (1 + 1 + 2))
    leaves = [p[-1] for p in tree.paths() if not p[-1].children]
    assert sorted(n.c for n in leaves) == [1] * 6 + [2] * 6
    assert all(n.turn.how == "agreed" for n in leaves if n.role == "acceptant")
    # agent_0's opening role is drawn with the seed.
    items = load_embedded("train")[:12]
    roles = [t.root.role for t in pt.build_trees(items, RoleDouble(items), seed=5)]
    again = [t.root.role for t in pt.build_trees(items, RoleDouble(items), seed=5)]
    assert roles == again and set(roles) == {"resistant", "logical"}


def test_build_stops_a_branch_when_the_openings_agree() -> None:
    items = load_embedded("train")[:2]
    config = pt.TreeConfig(opening_roles=("acceptant",))  # agent_0 opens wrong, like agent_1
    trees = pt.build_trees(items, RoleDouble(items), config, seed=0)
    assert pt.count_nodes(trees) == 2 * (1 + 2)
    assert not any(pt.discussed(t) for t in trees)
    with pytest.raises(ValueError, match="unknown roles"):
        pt.TreeConfig(opening_roles=("sneaky",))


def test_cli_build_pairs_show(tmp_path, monkeypatch, capsys) -> None:
    import societygym.llm

    monkeypatch.setattr(societygym.llm, "load_llm", lambda spec: ScriptedRoleLLM())
    trees = tmp_path / "trees.jsonl"
    pt.main(["build", "--questions", "4", "--max-depth", "3", "--out", str(trees)])
    built = capsys.readouterr()
    assert "4 trees (3 with a discussion), 30 turns" in built.out
    assert "30/30" in built.err and len(pt.load_trees(trees)) == 4  # the bar ended full
    # The scripted role-players leave no sibling pair: a message, and no (empty) files.
    assert pt.main(["pairs", str(trees), "--out-dir", str(tmp_path / "none")]) == 1
    assert "0 pairs, nothing written" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
    hand_built = pt.save_trees([hand_built_tree()], tmp_path / "hand.jsonl")
    assert pt.main(["pairs", str(hand_built), "--out-dir", str(tmp_path / "data")]) == 0
    printed = capsys.readouterr().out
    assert "train: 1 trees, 2 pairs (1 resist, 1 accept) -> 2 balanced" in printed
    assert "no file for dev, test" in printed
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "train.dpo.jsonl",
        "train.sft.jsonl",
    ]
    pt.main(["show", str(trees), "--index", "0"])
    assert capsys.readouterr().out.startswith("Question: ")


# --- a real (tiny, random) LLM ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    from societygym.llm import load_llm

    return load_llm("tiny")


def test_tiny_llm_through_partner_and_tree_builder(tiny) -> None:
    items = load_embedded("train")[:2]
    trees = pt.build_trees(items, tiny, pt.TreeConfig(max_depth=3, max_tokens=4), seed=0)
    assert pt.count_nodes(trees) >= 2 * 3  # at least the openings of both agents
    assert all(p[-1].score == pt.score_tree(p[-1]) for t in trees for p in t.paths())

    partner = LLMPartner(tiny, role="resistant", max_tokens=4)
    dialogue = Dialogue(items[0], ("agent", "partner"))
    dialogue.add("agent", "It is 89.", "89", opening=True)
    (reply,) = partner.reply_batch([PartnerRequest(dialogue, "partner")], np.random.default_rng(0))
    assert isinstance(reply.text, str) and not reply.known
    infos = [{"to_act": False}, {"to_act": True, "question": PERU.question, "history": []}]
    silent, spoken = partner.act_batch(["", ""], infos)
    assert silent == "" and isinstance(spoken, str)


# --- empty results and progress -------------------------------------------------------------


def test_pairs_explains_trees_without_a_discussion(tmp_path, capsys) -> None:
    items = load_embedded("train")[:2]
    config = pt.TreeConfig(opening_roles=("acceptant",))  # both open wrong: they agree at once
    trees = pt.save_trees(pt.build_trees(items, RoleDouble(items), config), tmp_path / "t.jsonl")
    assert pt.main(["pairs", str(trees), "--out-dir", str(tmp_path / "data")]) == 1
    message = capsys.readouterr().err
    assert (
        "0 pairs, nothing written" in message
        and "none of the 2 trees holds a discussion" in message
    )
    assert not (tmp_path / "data").exists()


def test_pairs_explains_unbalanced_pairs_and_no_balance_keeps_them(tmp_path) -> None:
    tree = hand_built_tree()
    resist_only = [p for p in pt.extract_pairs([tree]) if p.label == pt.RESIST]
    assert pt.balance_pairs(resist_only) == []
    assert "pass --no-balance" in pt.explain_no_pairs([tree], resist_only)
    talk_free = pt.Tree(
        PERU, node(A0, "logical", "Lima", None, node(A1, "resistant", "Lima", "Lima"))
    )
    assert "holds a discussion" in pt.explain_no_pairs([talk_free], [])


def test_tree_bar_total_shrinks_as_branches_agree() -> None:
    from societygym import progress

    bars = []
    real_bar = progress.bar

    def keep(*args, **kwargs):
        bars.append(real_bar(*args, **kwargs))
        return bars[-1]

    items = load_embedded("train")[:2]
    full = pt.TreeConfig(opening_roles=("logical",))
    agreeing = pt.TreeConfig(opening_roles=("acceptant",))  # openings agree: no discussion
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(progress, "bar", keep)
        trees = [
            pt.build_trees(items, RoleDouble(items), c, progress=True) for c in (full, agreeing)
        ]
    assert pt._nodes_below(full) == [20, 9, 2, 0]  # 2 responders, 3 styles, 2 responders
    assert [(bar.n, bar.total) for bar in bars] == [(42, 42), (6, 6)]
    assert [pt.count_nodes(t) for t in trees] == [42, 6]
