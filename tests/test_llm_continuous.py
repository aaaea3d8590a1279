"""Continuous batching: refilled slots and late submissions decode exactly as rows alone do."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from collections import Counter

import pytest

from societygym.llm import TransformersLLM
from societygym.llm.base import SamplingParams
from societygym.llm.tiny import build_tiny_llm_dir
from tests.test_llm_transformers import PROMPTS as BASE_PROMPTS

# rows of very different widths share one batch
PROMPTS = [
    *BASE_PROMPTS,
    "A much longer prompt, so that rows of very different widths share one batch: one two",
]
MAX_TOKENS = 14


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    return TransformersLLM(build_tiny_llm_dir(tmp_path_factory.mktemp("tiny")), batch_size=4)


@pytest.fixture
def ragged_eos(llm):
    """Make a token the random model emits mid-way an end-of-sequence token, so that rows end
    at different steps; yields each prompt's expected (cut) tokens, decoded alone."""
    saved = llm.eos_ids
    llm.eos_ids = set()
    alone = [llm.generate([p], max_tokens=MAX_TOKENS)[0][0].token_ids for p in PROMPTS]
    # the token whose first occurrences are spread widest over positions
    firsts: dict[int, list[int]] = {}
    for tokens in alone:
        for position, token in enumerate(tokens):
            if position not in firsts.setdefault(token, []) and tokens.index(token) == position:
                firsts[token].append(position)
    eos = max(firsts, key=lambda t: (len(set(firsts[t])), Counter(firsts[t]).most_common(1)))
    llm.eos_ids = {eos}
    expected = [t[: t.index(eos) + 1] if eos in t else t for t in alone]
    assert len({len(t) for t in expected}) > 1, "rows must end at different steps"
    yield expected
    llm.eos_ids = saved


def test_refilled_slots_decode_as_rows_alone(llm, ragged_eos):
    decoder = llm.decoder(SamplingParams(max_tokens=MAX_TOKENS), slots=2)
    for i, prompt in enumerate(PROMPTS):
        decoder.submit(llm.encode(prompt), i)
    results = dict(decoder.run())
    assert [results[i].token_ids for i in range(len(PROMPTS))] == ragged_eos
    # A chunk of 2 runs until its longer row ends; refilling needs fewer steps.
    lengths = [len(t) for t in ragged_eos]
    chunked = sum(max(lengths[i : i + 2]) for i in range(0, len(lengths), 2))
    assert decoder.steps < chunked


def test_late_submission_joins_a_running_batch(llm, ragged_eos):
    decoder = llm.decoder(SamplingParams(max_tokens=MAX_TOKENS), slots=3)
    last = len(PROMPTS) - 1  # the long prompt starts, so later rows join a wide batch
    decoder.submit(llm.encode(PROMPTS[last]), last)
    decoder.submit(llm.encode(PROMPTS[0]), 0)
    results: dict[int, object] = {}
    next_prompt = iter(range(1, last))
    while decoder.busy:
        for tag, gen in decoder.step():
            results[tag] = gen
            # the next prompt arrives only once a row has finished, as an env's would
            follow = next(next_prompt, None)
            if follow is not None:
                decoder.submit(llm.encode(PROMPTS[follow]), follow)
        if decoder.rows:
            width = decoder.mask.shape[1]
            assert width <= max(len(llm.encode(p)) for p in PROMPTS) + MAX_TOKENS
    assert sorted(results) == list(range(len(PROMPTS)))
    assert [results[i].token_ids for i in range(len(PROMPTS))] == ragged_eos
    assert all(g.finish_reason in ("stop", "length") for g in results.values())


def test_generate_refills_and_counts_finish_reasons(llm, ragged_eos):
    gens = [g[0] for g in llm.generate(PROMPTS, max_tokens=MAX_TOKENS)]
    assert [g.token_ids for g in gens] == ragged_eos
    for gen, tokens in zip(gens, ragged_eos, strict=True):
        assert gen.finish_reason == ("stop" if tokens[-1] in llm.eos_ids else "length")
        assert gen.completion_tokens == len(tokens)


def test_zero_max_tokens_and_empty_prompt(llm):
    [[nothing]] = llm.generate(["hello"], max_tokens=0)
    assert nothing.text == "" and nothing.completion_tokens == 0
    [[from_empty]] = llm.generate([""], max_tokens=3, ignore_eos=True)
    assert from_empty.completion_tokens == 3
    with pytest.raises(ValueError, match="empty prompt"):
        llm.decoder(SamplingParams()).submit([], 0)


def test_refills_start_from_the_shared_prefix_cache(llm, ragged_eos, monkeypatch):
    from societygym.llm.continuous import SharedPrefix

    system = {"role": "system", "content": "You answer trivia questions briefly and exactly. " * 3}
    prompts = [
        [system, {"role": "user", "content": f"Question {i}: name a colour."}] for i in range(5)
    ]
    alone = [llm.generate([p], max_tokens=MAX_TOKENS)[0][0].token_ids for p in prompts]
    reused = []
    original = SharedPrefix.cache_for
    monkeypatch.setattr(
        SharedPrefix, "cache_for", lambda self, rows: reused.append(rows) or original(self, rows)
    )
    decoder = llm.decoder(SamplingParams(max_tokens=MAX_TOKENS), slots=2)
    for i, prompt in enumerate(prompts):
        decoder.submit(llm.encode(prompt), i)
    results = dict(decoder.run())
    assert [results[i].token_ids for i in range(5)] == alone
    assert reused and len(decoder.prefix.ids) >= 16  # later rows skipped the system prompt


def test_cancel_drops_queued_and_decoding_rows(llm, ragged_eos):
    decoder = llm.decoder(SamplingParams(max_tokens=MAX_TOKENS), slots=2)
    for i, prompt in enumerate(PROMPTS):
        decoder.submit(llm.encode(prompt), i)
    first = dict(decoder.step())  # rows 0 and 1 decode, the rest wait
    assert decoder.cancel(lambda tag: tag in (1, 2)) == 2  # one decoding row, one queued
    assert [row.tag for row in decoder.rows] == ([] if 0 in first else [0])
    results = {**first, **dict(decoder.run())}
    kept = [i for i in range(len(PROMPTS)) if i not in (1, 2)]
    assert sorted(results) == kept
    assert [results[i].token_ids for i in kept] == [ragged_eos[i] for i in kept]


def test_generate_reports_rows_as_they_finish(llm, ragged_eos):
    from societygym import progress

    reported: list[int] = []
    with progress.count_generations(reported.append):  # what moves a pipeline's bar
        llm.generate(PROMPTS, max_tokens=MAX_TOKENS)
    assert sum(reported) == len(PROMPTS) and len(reported) > 1  # not once at the end
    progress.generated(5)  # outside the block nobody listens
    assert sum(reported) == len(PROMPTS)
