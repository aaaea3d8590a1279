"""TransformersLLM on the tiny random Llama: batching, sampling, stop strings, scoring, usage."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import math
import subprocess
import sys
from pathlib import Path

import pytest

from societygym.llm import OpenAICompatibleLLM, TransformersLLM, load_llm
from societygym.llm.cache import cached_model_dir
from societygym.llm.tiny import build_tiny_llm_dir

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "The cat sees",
    "What is the capital of France? The capital of France is",
    [{"role": "user", "content": "Is the star red?"}],
    "Q: What is 3 + 4? A:",
    "def f(x):\n    return",
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}],
]


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    return TransformersLLM(build_tiny_llm_dir(tmp_path_factory.mktemp("tiny")), batch_size=4)


def test_batched_greedy_equals_one_at_a_time(llm):
    batched = llm.generate(PROMPTS, max_tokens=12)
    for prompt, [gen] in zip(PROMPTS, batched, strict=True):
        [[alone]] = llm.generate([prompt], max_tokens=12)
        assert gen.token_ids == alone.token_ids
        assert gen.text == alone.text
        assert gen.logprobs == pytest.approx(alone.logprobs, abs=1e-4)


def test_greedy_equals_transformers_generate(llm):
    import torch

    prompt = PROMPTS[2]
    ids = torch.tensor([llm.encode(prompt)])
    reference = llm.model.generate(
        ids, attention_mask=torch.ones_like(ids), max_new_tokens=10, do_sample=False
    )[0, ids.shape[1] :].tolist()
    [[gen]] = llm.generate([prompt], max_tokens=10)
    assert gen.token_ids == reference[: len(gen.token_ids)]
    assert gen.completion_tokens == len(gen.token_ids) > 0


def manual_logprobs(llm, context, cont_ids):
    """Log-probs of ``cont_ids`` after ``context`` from one unbatched forward pass."""
    import torch

    ids = torch.tensor([context + cont_ids])
    with torch.no_grad():
        logp = llm.model(input_ids=ids).logits[0].log_softmax(-1)
    return [logp[t - 1, ids[0, t]].item() for t in range(len(context), ids.shape[1])]


def test_score_equals_manual_log_softmax(llm):
    prompt = PROMPTS[1]
    continuations = [" Paris", " a red circle.", " no", ""]
    scores = llm.score(prompt, continuations)
    for cont, score in zip(continuations, scores, strict=True):
        cont_ids = llm.tokenizer(cont, add_special_tokens=False).input_ids
        assert score == pytest.approx(sum(manual_logprobs(llm, llm.encode(prompt), cont_ids)))
    assert scores[-1] == 0.0


def test_score_batch_equals_score_per_prompt(llm):
    conts = [[" yes", " no"], [" Paris", " Rome", " Lima"], ["blue"]]
    prompts = PROMPTS[:3]
    batched = llm.score_batch(prompts, conts)
    for prompt, cs, row in zip(prompts, conts, batched, strict=True):
        assert row == pytest.approx(llm.score(prompt, cs), abs=1e-4)


def test_greedy_continuation_outscores_a_random_one(llm):
    import random

    prompt = PROMPTS[0]
    [[gen]] = llm.generate([prompt], max_tokens=8, ignore_eos=True)
    expected = manual_logprobs(llm, llm.encode(prompt), gen.token_ids)
    assert gen.logprobs == pytest.approx(expected, abs=1e-4)
    # Compared as token ids: a random model's greedy text need not re-tokenize to its own ids.
    noise = random.Random(0).sample(range(100, 1000), 8)
    assert sum(gen.logprobs) > sum(manual_logprobs(llm, llm.encode(prompt), noise))


def test_seeded_sampling_is_reproducible_and_leaves_global_rng_alone(llm):
    import torch

    def texts(seed):
        gens = llm.generate(PROMPTS[:2], n=3, temperature=1.0, max_tokens=10, seed=seed)
        return [[g.text for g in group] for group in gens]

    state = torch.get_rng_state()
    first = texts(1)
    assert torch.equal(state, torch.get_rng_state())
    assert texts(1) == first
    assert texts(2) != first
    assert len(set(first[0])) > 1  # the n samples of one prompt differ


def test_tiny_top_p_is_greedy_and_greedy_n_copies(llm):
    greedy = llm.generate(PROMPTS[:2], n=2, max_tokens=10)
    nucleus = llm.generate(PROMPTS[:2], n=2, max_tokens=10, temperature=1.0, top_p=1e-6, seed=0)
    for g_group, n_group in zip(greedy, nucleus, strict=True):
        assert len(g_group) == len(n_group) == 2
        assert [g.text for g in g_group] == [g.text for g in n_group] == [g_group[0].text] * 2


def test_stop_strings_truncate_and_end_early(llm):
    prompt = PROMPTS[0]
    [[full]] = llm.generate([prompt], max_tokens=16, ignore_eos=True)
    stop = full.text[4:6]
    cut = full.text.find(stop)
    [[stopped]] = llm.generate([prompt], max_tokens=16, stop=["@@never@@", stop])
    assert stopped.text == full.text[:cut]
    assert stopped.finish_reason == "stop"
    assert stopped.completion_tokens < 16


def test_max_tokens_and_finish_reason(llm):
    [[gen]] = llm.generate([PROMPTS[0]], max_tokens=5, ignore_eos=True)
    assert (gen.completion_tokens, gen.finish_reason) == (5, "length")
    assert len(gen.token_ids) == len(gen.logprobs) == 5
    assert all(lp <= 0 for lp in gen.logprobs)
    [[empty]] = llm.generate([PROMPTS[0]], max_tokens=0)
    assert (empty.text, empty.completion_tokens, empty.finish_reason) == ("", 0, "length")


def test_usage_counts_tokens(llm):
    before = llm.usage.snapshot()
    gens = llm.generate(PROMPTS[:2], n=2, temperature=1.0, max_tokens=6, seed=0)
    prompt_tokens = sum(len(llm.encode(p)) for p in PROMPTS[:2])
    completion_tokens = sum(g.completion_tokens for group in gens for g in group)
    assert llm.usage.since(before) == {
        "calls": 2,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
    }
    before = llm.usage.snapshot()
    llm.score(PROMPTS[0], [" a", " red circle"])
    scored = 2 * len(llm.encode(PROMPTS[0])) + 1 + len(llm.tokenizer(" red circle").input_ids)
    assert llm.usage.since(before) == {"calls": 1, "prompt_tokens": scored, "completion_tokens": 0}


def test_token_logprobs_agree_with_score(llm):
    prompt, cont = PROMPTS[0], " a red circle"
    [echo] = llm.token_logprobs([prompt + cont])
    assert "".join(echo.tokens) == prompt + cont
    assert echo.logprobs[0] is None
    assert echo.offsets == sorted(echo.offsets)
    tail = [lp for lp, at in zip(echo.logprobs, echo.offsets, strict=True) if at >= len(prompt)]
    assert math.fsum(tail) == pytest.approx(llm.score(prompt, [cont])[0], abs=1e-4)


def test_tiny_model_is_deterministic_per_seed(tmp_path):
    a = build_tiny_llm_dir(tmp_path / "a", seed=3)
    b = build_tiny_llm_dir(tmp_path / "b", seed=3)
    c = build_tiny_llm_dir(tmp_path / "c", seed=4)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "tokenizer.json").read_bytes() == (c / "tokenizer.json").read_bytes()
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()
    assert (a / "chat_template.jinja").is_file()


def test_cached_model_dir_builds_once_and_survives_a_race(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIETYGYM_CACHE", str(tmp_path))
    builds = []

    def winner(path: Path) -> None:
        (path / "who").write_text("winner")

    def loser(path: Path) -> None:
        builds.append(path)
        (path / "who").write_text("loser")
        cached_model_dir("m", winner)  # another process finishes first, mid-build

    final = cached_model_dir("m", loser)
    assert (final / "who").read_text() == "winner"
    assert cached_model_dir("m", loser) == final and len(builds) == 1
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["m"]  # no temp dirs left


def test_load_llm_specs(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIETYGYM_CACHE", str(tmp_path))
    tiny = load_llm("tiny:5")
    assert isinstance(tiny, TransformersLLM) and tiny.name == "tiny:5"
    assert load_llm(tiny) is tiny
    remote = load_llm("openai:http://127.0.0.1:9/v1#some/model")
    assert isinstance(remote, OpenAICompatibleLLM)
    assert (remote.base_url, remote.model) == ("http://127.0.0.1:9/v1", "some/model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    remote = load_llm("openai:m")
    assert (remote.base_url, remote.model, remote.api_key) == ("http://127.0.0.1:9/v1", "m", "k")
    for bad in ("gpt", "hf:", "openai:", "tiny:x"):
        with pytest.raises(ValueError, match="unknown LLM spec"):
            load_llm(bad)


def test_importing_the_llm_package_does_not_import_torch():
    code = (
        "import sys, societygym.llm; print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["False", "False"]
