"""LACIE's data pipeline: sampling, judging, preference pairs, JSONL, and a real DPO run."""

import json
import math
import time
from collections import Counter
from types import SimpleNamespace

import pytest

from societygym.baselines import lacie
from societygym.envs.trivia.answers import anonymize
from societygym.envs.trivia.listeners import ANSWER_MASK, LexicalListener
from societygym.envs.trivia.prompts import SPEAKER_PROMPT
from societygym.llm.base import Generation, Usage


def judged(qid, name, correct, p, *, abstained=False, anonymized=None):
    """A judged record as ``lacie.judge`` writes it (utterance named after the sample)."""
    return {
        "question_id": qid,
        "question": f"Question {qid}?",
        "answers": ["X"],
        "utterance": f"utterance {name}",
        "answer": None if abstained else "X",
        "correct": correct,
        "abstained": abstained,
        "anonymized": f"utterance {name} {ANSWER_MASK}" if anonymized is None else anonymized,
        "p_accept": p,
    }


# Threshold 0.5 gives: a TA (+1), b FR (-0.5), c FA (-1), d TR (+1); e and f are dropped.
Q1 = [
    judged("q1", "a", True, 0.9),
    judged("q1", "b", True, 0.2),
    judged("q1", "c", False, 0.85),
    judged("q1", "d", False, 0.05),
    judged("q1", "e", False, 0.6, abstained=True),
    judged("q1", "f", True, 0.45, anonymized=f"{ANSWER_MASK}."),  # nothing left to read
]
# g TA, h FR, i FR
Q2 = [judged("q2", "g", True, 0.95), judged("q2", "h", True, 0.3), judged("q2", "i", True, 0.35)]


def summary(pairs):
    return [(p["question_id"], p["type"], p["chosen"], p["rejected"]) for p in pairs]


def test_pairs_gap_filter_equal_utility_skip_and_cap():
    pairs = lacie.build_dpo_pairs(Q1, threshold=0.5, balance_types=False)
    # Candidates among a, b, c, d (e abstained, f empty after masking):
    #   a-b: |0.9-0.2| = 0.7, TA>FR, utility gap 1.5
    #   a-c: |0.9-0.85| = 0.05 < 0.1 -> skipped
    #   a-d: TA vs TR, equal utility -> skipped
    #   b-c: 0.65, FR>FA, gap 0.5
    #   b-d: 0.15, TR>FR, gap 1.5
    #   c-d: 0.8, TR>FA, gap 2
    # The cap of 3 keeps the largest utility gaps (ties by p gap): c-d, a-b, b-d.
    assert summary(pairs) == [
        ("q1", "TR>FA", " utterance d", " utterance c"),
        ("q1", "TA>FR", " utterance a", " utterance b"),
        ("q1", "TR>FR", " utterance d", " utterance b"),
    ]
    first = pairs[0]
    assert first["prompt"] == SPEAKER_PROMPT.format(question="Question q1?")
    assert (first["p_chosen"], first["p_rejected"]) == (0.05, 0.85)
    uncapped = lacie.build_dpo_pairs(
        Q1, threshold=0.5, balance_types=False, max_pairs_per_question=None
    )
    assert [p["type"] for p in uncapped] == ["TR>FA", "TA>FR", "TR>FR", "FR>FA"]


def test_pairs_min_gap():
    pairs = lacie.build_dpo_pairs(Q1, threshold=0.5, balance_types=False, min_gap=0.7)
    # Only c-d (0.8) and a-b (0.7) remain.
    assert [p["type"] for p in pairs] == ["TR>FA", "TA>FR"]


def test_pairs_balancing_downsamples_to_the_rarest_type():
    records = Q1 + Q2
    unbalanced = lacie.build_dpo_pairs(records, threshold=0.5, balance_types=False)
    # q1 as above; q2: g-h (0.65) and g-i (0.6) are TA>FR, h-i is 0.05 apart.
    assert Counter(p["type"] for p in unbalanced) == {"TR>FA": 1, "TA>FR": 3, "TR>FR": 1}
    balanced = lacie.build_dpo_pairs(records, threshold=0.5, seed=3)
    assert Counter(p["type"] for p in balanced) == {"TR>FA": 1, "TA>FR": 1, "TR>FR": 1}
    assert all(p in unbalanced for p in balanced)
    assert balanced == lacie.build_dpo_pairs(records, threshold=0.5, seed=3)  # deterministic
    chosen_ta = {
        tuple(p["chosen"] for p in lacie.build_dpo_pairs(records, threshold=0.5, seed=s))
        for s in range(20)
    }
    assert len(chosen_ta) > 1  # the seed picks which TA>FR pair survives


def test_median_threshold_corrects_a_yes_biased_listener():
    # The listener says yes to everything (all p > 0.5); the median is 0.825.
    records = [
        judged("q", "x", True, 0.95),  # TA under the median (TA under 0.5)
        judged("q", "y", False, 0.9),  # FA (FA)
        judged("q", "z", False, 0.7),  # TR (FA)
        judged("q", "w", True, 0.75),  # FR (TA)
    ]
    median = lacie.build_dpo_pairs(records, balance_types=False)
    # x-y 0.05 apart; x-z TA vs TR equal; z-w 0.05 apart. Kept: x-w, y-z, y-w.
    assert summary(median) == [
        ("q", "TR>FA", " utterance z", " utterance y"),
        ("q", "TA>FR", " utterance x", " utterance w"),
        ("q", "FR>FA", " utterance w", " utterance y"),
    ]
    # With a fixed 0.5 everything is accepted: only TA>FA contrasts (x-z 0.25, w-y 0.15).
    fixed = lacie.build_dpo_pairs(records, threshold=0.5, balance_types=False)
    assert [(p["type"], p["chosen"]) for p in fixed] == [
        ("TA>FA", " utterance x"),
        ("TA>FA", " utterance w"),
    ]


def test_dpo_jsonl_round_trip(tmp_path):
    pairs = lacie.build_dpo_pairs(Q1 + Q2, threshold=0.5)
    pairs[0]["chosen"] = " Ünïcode — “quoted”\nline"
    path = lacie.export_dpo_jsonl(pairs, tmp_path / "out" / "pairs.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(pairs)
    assert all({"prompt", "chosen", "rejected"} <= json.loads(line).keys() for line in lines)
    assert lacie.load_dpo_jsonl(path) == pairs


class FakeLLM:
    """Answers each question in four fixed styles plus an abstention, and records its calls."""

    name = "fake"
    styles = (
        "I'm absolutely certain it is {right}.",
        "I think it might be {right}, but I'm not sure.",
        "I'm absolutely certain it is {wrong}.",
        "I think it might be {wrong}, but I'm not sure.",
        "I have no idea.",
    )

    def __init__(self, answers):
        self.answers = answers  # question -> (right, wrong)
        self.usage = Usage()
        self.calls = []

    def generate(self, prompts, *, n=1, max_tokens=64, temperature=0.0, top_p=1.0, stop=None,
                 seed=None):  # fmt: skip
        self.calls.append({"prompts": list(prompts), "n": n, "seed": seed, "stop": stop,
                           "temperature": temperature, "max_tokens": max_tokens})  # fmt: skip
        out = []
        for prompt in prompts:
            question = prompt.split("Question: ")[-1].removesuffix("\nResponse:")
            right, wrong = self.answers[question]
            styles = [self.styles[k % len(self.styles)] for k in range(n)]
            out.append([Generation(" " + s.format(right=right, wrong=wrong)) for s in styles])
        return out

    def score(self, prompt, continuations):
        raise NotImplementedError


class FakeExtractor:
    """Picks whichever known candidate the utterance names (None: an abstention)."""

    candidates = ("Paris", "Lyon", "Lima", "Cusco")

    def extract_batch(self, utterances, questions):
        return [next((c for c in self.candidates if c in u), None) for u in utterances]


ITEMS = [
    SimpleNamespace(id="fr", question="What is the capital of France?", answers=("Paris",)),
    SimpleNamespace(id="pe", question="What is the capital of Peru?", answers=("Lima",)),
]
LLM_ANSWERS = {
    "What is the capital of France?": ("Paris", "Lyon"),
    "What is the capital of Peru?": ("Lima", "Cusco"),
}


def test_sample_utterances_records_and_seeds():
    llm = FakeLLM(LLM_ANSWERS)
    records = lacie.sample_utterances(llm, ITEMS, n=5, seed=7, batch_size=1)
    assert len(records) == 10
    assert [(r["question_id"], r["sample"]) for r in records[:6]] == [
        ("fr", 0), ("fr", 1), ("fr", 2), ("fr", 3), ("fr", 4), ("pe", 0),
    ]  # fmt: skip
    assert records[0] == {
        "question_id": "fr",
        "question": "What is the capital of France?",
        "answers": ["Paris"],
        "utterance": "I'm absolutely certain it is Paris.",  # stripped
        "sample": 0,
    }
    assert [c["seed"] for c in llm.calls] == [7, 8]  # one seed per batch
    call = llm.calls[0]
    assert call["prompts"] == [SPEAKER_PROMPT.format(question=ITEMS[0].question)]
    assert (call["n"], call["temperature"], call["max_tokens"]) == (5, 0.7, 80)
    assert "\nQuestion:" in call["stop"]


def test_judge_with_lexical_listener_then_pairs():
    records = lacie.sample_utterances(FakeLLM(LLM_ANSWERS), ITEMS, n=5)
    out = lacie.judge(records, LexicalListener(), FakeExtractor())
    assert "answer" not in records[0]  # the input is left alone
    certain_right, hedged_right, certain_wrong, hedged_wrong, abstention = out[:5]
    assert (certain_right["answer"], certain_right["correct"]) == ("Paris", True)
    assert (certain_wrong["answer"], certain_wrong["correct"]) == ("Lyon", False)
    assert abstention["abstained"] and abstention["answer"] is None
    assert not abstention["correct"]
    for r in out[:4]:
        assert ANSWER_MASK in r["anonymized"] and r["answer"] not in r["anonymized"]
        assert r["anonymized"] == anonymize(r["utterance"], r["answers"], r["answer"])
        assert r["p_accept"] == LexicalListener().p_accept(r["question"], r["anonymized"])
    assert certain_right["p_accept"] > 0.8 > 0.3 > hedged_right["p_accept"]
    assert certain_right["p_accept"] == certain_wrong["p_accept"]
    assert hedged_right["p_accept"] == hedged_wrong["p_accept"]

    pairs = lacie.build_dpo_pairs(out)
    # Per question: certain-right TA, hedged-right FR, certain-wrong FA, hedged-wrong TR.
    # TA-FA and FR-TR share a p (no gap) and TA-TR share a utility, which leaves
    # TR>FA, TA>FR and FR>FA, one of each per question.
    assert Counter(p["type"] for p in pairs) == {"TR>FA": 2, "TA>FR": 2, "FR>FA": 2}
    ta_fr = next(p for p in pairs if p["type"] == "TA>FR" and p["question_id"] == "fr")
    assert ta_fr["chosen"] == " I'm absolutely certain it is Paris."  # not anonymized
    assert ta_fr["rejected"] == " I think it might be Paris, but I'm not sure."


def test_train_dpo_on_the_tiny_model(tmp_path):
    from societygym.llm.tiny import build_tiny_llm_dir

    model_dir = build_tiny_llm_dir(tmp_path / "tiny")
    records = lacie.sample_utterances(FakeLLM(LLM_ANSWERS), ITEMS, n=5)
    pairs = lacie.build_dpo_pairs(lacie.judge(records, LexicalListener(), FakeExtractor()))
    pairs_path = lacie.export_dpo_jsonl(pairs, tmp_path / "pairs.jsonl")
    out = tmp_path / "run"
    start = time.perf_counter()
    log = lacie.train_dpo(
        pairs_path, model_dir=model_dir, output_dir=out, max_steps=2, batch_size=2, grad_accum=1
    )
    print(f"tiny DPO: 2 steps in {time.perf_counter() - start:.1f}s")
    assert len(log) == 2
    assert all(math.isfinite(entry["loss"]) for entry in log)
    assert (out / "adapter_config.json").is_file()
    assert (out / "adapter_model.safetensors").is_file()
    assert json.loads((out / "train_log.json").read_text()) == log
    config = json.loads((out / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (16, 32, 0.05)


def test_cli_pairs(tmp_path, capsys):
    records_path = lacie.write_jsonl(Q1 + Q2, tmp_path / "records.jsonl")
    out = tmp_path / "pairs.jsonl"
    lacie.main(["pairs", str(records_path), "--threshold", "0.5", "--out", str(out)])
    assert "3 pairs" in capsys.readouterr().out
    assert len(lacie.load_dpo_jsonl(out)) == 3


@pytest.mark.parametrize("command", ["sample", "pairs", "train"])
def test_cli_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        lacie.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage" in capsys.readouterr().out


def _load_effect_lacie():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "effect_lacie.py"
    if str(path.parent) not in sys.path:  # its sibling modules, as when the script runs
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("effect_lacie", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_effect_lacie_quick_run_and_resume(tmp_path, capsys):
    """The whole benchmark at its quick size (tiny model: its samples, ranked by the tiny LLM
    listener, give pairs), then a resumed re-run that redoes nothing."""
    effect = _load_effect_lacie()
    work, results = tmp_path / "work", tmp_path / "results"
    argv = ["--quick", "--workdir", str(work), "--results", str(results)]
    first = effect.main(argv)
    out = capsys.readouterr().out
    assert first["n_pairs"] > 0 and "train seed 2" in out
    rows = {row["metric"]: row for row in first["rows"]}
    for metric in ("lexical/false_accept_rate", "llm/precision", "llm/auroc", "hedge_rate"):
        assert metric in rows
    keys = {"metric", "base", "trained", "diff", "diff_lo", "diff_hi", "seeds", "better", "paper"}
    for row in first["rows"]:
        assert set(row) == keys and row["seeds"] == 3 and row["better"] in ("higher", "lower")
    assert json.loads((results / "effect_lacie.json").read_text())["rows"] == first["rows"]
    assert (results / "effect_lacie.png").stat().st_size > 0
    evaluated = lacie.read_jsonl(work / "eval" / "trained-seed1.jsonl")
    assert len(evaluated) == 6
    assert all(0.0 <= r["p_llm"] <= 1.0 and 0.0 <= r["p_lexical"] <= 1.0 for r in evaluated)

    again = effect.main(argv)
    out = capsys.readouterr().out
    assert "train seed" not in out and "chunk" not in out  # every stage was checkpointed
    assert again["rows"] == first["rows"]


# --- empty results: a message saying why, never a traceback in the next stage ---------------


def test_pairs_explains_a_listener_that_reads_every_utterance_alike(tmp_path, capsys):
    same = [judged("q1", name, name == "a", 0.5) for name in "abcd"]
    out = tmp_path / "pairs.jsonl"
    assert lacie.main(["pairs", str(lacie.write_jsonl(same, tmp_path / "r.jsonl")),
                       "--out", str(out)]) == 1  # fmt: skip
    message = capsys.readouterr().err
    assert "0 pairs" in message and "same p(accept) (0.500)" in message
    assert "--listener llm" in message and not out.exists()


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], "no judged utterances"),
        ([judged("q1", "a", False, 0.3, abstained=True)], "abstentions"),
        ([judged("q1", "a", True, 0.9), judged("q2", "b", False, 0.1)], "lower --min-gap"),
    ],
)
def test_explain_no_pairs_names_the_cause(records, expected):
    assert lacie.build_dpo_pairs(records) == []
    assert expected in lacie.explain_no_pairs(records, min_gap=0.1)


def test_train_refuses_an_empty_or_missing_pairs_file_without_a_traceback(tmp_path, capsys):
    empty = tmp_path / "pairs.jsonl"
    empty.write_text("")
    assert lacie.main(["train", str(empty), "--out", str(tmp_path / "dpo")]) == 1
    assert "holds no pairs: re-run `pairs`" in capsys.readouterr().err
    assert lacie.main(["train", str(tmp_path / "missing.jsonl")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert not (tmp_path / "dpo").exists()


def test_sampling_bar_moves_with_each_utterance(monkeypatch):
    from societygym import progress

    class CountingLLM:
        """Reports each finished row as the continuous decoder does."""

        name, usage = "counting", Usage()

        def generate(self, prompts, *, n, **kwargs):
            for _ in range(len(prompts) * n):
                progress.generated(1)
            return [[Generation("It is X.") for _ in range(n)] for _ in prompts]

    moves = []
    monkeypatch.setattr(progress, "enabled", lambda quiet=False: not quiet)
    real_bar = progress.bar

    def spy(*args, **kwargs):
        bar = real_bar(*args, **kwargs)
        update = bar.update
        bar.update = lambda n=1: (moves.append(n), update(n))[1]
        return bar

    monkeypatch.setattr(progress, "bar", spy)
    items = [SimpleNamespace(id=f"q{i}", question=f"Q{i}?", answers=("X",)) for i in range(3)]
    records = lacie.sample_utterances(CountingLLM(), items, n=2, batch_size=2, progress=True)
    assert len(records) == 6 and moves[:4] == [1, 1, 1, 1] and sum(moves) == 6
