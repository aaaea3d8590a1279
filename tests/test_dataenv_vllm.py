"""The optional vLLM evaluation backend of ``HFStudent``, against a stand-in ``vllm`` module.

The real path needs CUDA and the ``vllm`` package, neither of which CI has: these tests put a
test double under ``sys.modules["vllm"]`` that records what the student hands vLLM (engine
options, model or adapter paths, prompt token ids, sampling settings) and answers with canned
tokens. They check the backend choice, that vLLM sees exactly the transformers path's prompts,
and that every training iteration reaches vLLM as new weights.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from societygym.envs.dataenv.students import HFStudent
from societygym.envs.dataenv.students.vllm_eval import (
    MISSING_VLLM,
    choose_eval_backend,
    vllm_lora_rank,
)

PAIRS = [
    (f"Say the word number {i}.", ["apple", "river", "stone", "cloud"][i % 4]) for i in range(8)
]
QUESTIONS = ["What is 2 + 3?", "Name a colour.", "Is 7 even?"]
REPLY = " 42"  # what the stand-in engine answers, before the EOS token


class FakeVLLM:
    """What the student did with the stand-in ``vllm`` module."""

    def __init__(self) -> None:
        self.engines: list[FakeLLM] = []
        self.calls: list[dict[str, Any]] = []


class FakeLLM:
    def __init__(self, record: FakeVLLM, model: str, **options: Any) -> None:
        from transformers import AutoTokenizer

        self.record, self.model, self.options = record, model, options
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.shut_down = False
        core = SimpleNamespace(shutdown=lambda: setattr(self, "shut_down", True))
        self.llm_engine = SimpleNamespace(engine_core=core)
        record.engines.append(self)

    def generate(self, prompts, params, lora_request=None, use_tqdm=True):
        from safetensors.torch import load_file

        lora_b = None
        if lora_request is not None:  # what vLLM would load: read it now, as vLLM does
            weights = load_file(str(Path(lora_request.lora_path) / "adapter_model.safetensors"))
            lora_b = sum(float(w.abs().sum()) for k, w in weights.items() if "lora_B" in k)
        self.record.calls.append(
            {
                "engine": self,
                "prompts": prompts,
                "params": params,
                "lora": lora_request,
                "b": lora_b,
            }
        )
        reply = self.tokenizer(REPLY, add_special_tokens=False).input_ids
        reply = [*reply, self.tokenizer.eos_token_id]
        return [SimpleNamespace(outputs=[SimpleNamespace(token_ids=reply)]) for _ in prompts]


@pytest.fixture
def fake_vllm(monkeypatch) -> FakeVLLM:
    record = FakeVLLM()
    vllm = ModuleType("vllm")
    vllm.LLM = lambda model, **options: FakeLLM(record, model, **options)
    vllm.SamplingParams = lambda **kwargs: SimpleNamespace(**kwargs)
    lora, request = ModuleType("vllm.lora"), ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, int_id, path: SimpleNamespace(
        lora_name=name, lora_int_id=int_id, lora_path=path
    )
    vllm.lora, lora.request = lora, request
    for name, module in (("vllm", vllm), ("vllm.lora", lora), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, module)
    return record


@pytest.fixture
def no_vllm(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` now raises ImportError


def transformers_prompt_ids(student: HFStudent, questions: list[str]) -> list[list[int]]:
    from societygym.llm.transformers_backend import TransformersLLM

    llm = TransformersLLM(student.model, tokenizer=student.tokenizer)
    return [llm.encode(student.chat_prompt(q)) for q in questions]


def test_backend_choice_with_vllm_installed(fake_vllm) -> None:
    assert choose_eval_backend("transformers", "cuda") == "transformers"
    assert choose_eval_backend("auto", "cuda") == "vllm"
    assert choose_eval_backend("auto", "cpu") == "transformers"
    assert choose_eval_backend("vllm", "cpu") == "vllm"  # asked for: vLLM decides
    with pytest.raises(ValueError, match="eval_backend"):
        choose_eval_backend("sglang", "cuda")
    assert [vllm_lora_rank(r) for r in (4, 8, 16, 17, 64)] == [8, 8, 16, 32, 64]


def test_backend_choice_without_vllm(no_vllm) -> None:
    assert choose_eval_backend("auto", "cuda") == "transformers"
    with pytest.raises(ImportError, match=r"pip install 'societygym\[vllm\]'"):
        choose_eval_backend("vllm", "cuda")
    with pytest.raises(ImportError) as error:
        HFStudent("tiny", eval_backend="vllm", device="cpu")
    assert str(error.value) == MISSING_VLLM


def test_auto_and_default_pick_transformers_here(monkeypatch) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("'auto' is meant to pick transformers on a machine without CUDA")
    monkeypatch.delenv("SOCIETYGYM_EVAL_BACKEND", raising=False)
    assert HFStudent("tiny", eval_backend="auto").eval_backend == "transformers"
    assert HFStudent("tiny").eval_backend == "transformers"
    monkeypatch.setenv("SOCIETYGYM_EVAL_BACKEND", "auto")
    assert HFStudent("tiny").eval_backend == "transformers"


def test_vllm_gets_the_transformers_prompts(fake_vllm) -> None:
    student = HFStudent("tiny", eval_backend="vllm", device="cpu")
    answers = student.answer(QUESTIONS, max_new_tokens=8)
    # decoded as TransformersLLM decodes (EOS skipped, nothing stripped)
    assert answers == [REPLY] * len(QUESTIONS)
    (engine,) = fake_vllm.engines
    assert engine.model == student.model_dir
    assert engine.options["enable_lora"] is True and engine.options["max_lora_rank"] == 16
    assert engine.options["gpu_memory_utilization"] < 0.9  # the training copy shares the GPU
    (call,) = fake_vllm.calls
    sent = [p["prompt_token_ids"] for p in call["prompts"]]
    assert sent == transformers_prompt_ids(student, QUESTIONS)
    params = call["params"]
    assert params.temperature == 0 and params.max_tokens == 8
    assert student.tokenizer.eos_token_id in params.stop_token_ids

    # without a chat template the plain-text prompt (with the tokenizer's BOS etc.) matches too
    student.tokenizer.chat_template = None
    student.answer(QUESTIONS, max_new_tokens=8)
    sent = [p["prompt_token_ids"] for p in fake_vllm.calls[-1]["prompts"]]
    assert sent == transformers_prompt_ids(student, QUESTIONS)


def test_each_training_iteration_serves_a_new_adapter(fake_vllm) -> None:
    student = HFStudent("tiny", eval_backend="vllm", device="cpu")
    student.answer(QUESTIONS, 4)
    student.answer(QUESTIONS, 4)  # unchanged weights: the same adapter, not re-exported
    first, again = fake_vllm.calls
    assert again["lora"] is first["lora"]
    assert first["b"] == 0.0  # peft's initial adapter is the base model
    requests = [first["lora"]]
    for _ in range(2):
        student.train(PAIRS, seed=0, epochs=1)
        student.answer(QUESTIONS, 4)
        call = fake_vllm.calls[-1]
        requests.append(call["lora"])
        assert call["b"] > 0.0  # the trained adapter reached vLLM
    assert len({r.lora_int_id for r in requests}) == 3
    assert len({r.lora_path for r in requests}) == 3
    assert all(r.lora_int_id > 0 for r in requests)
    assert not Path(requests[0].lora_path).exists()  # only the newest export is kept
    assert len(fake_vllm.engines) == 1  # the base model is loaded once

    student.reset()
    student.answer(QUESTIONS, 4)
    back = fake_vllm.calls[-1]
    assert back["lora"].lora_int_id == requests[0].lora_int_id and back["b"] == 0.0


def test_full_finetune_restarts_the_engine_on_saved_weights(fake_vllm) -> None:
    student = HFStudent("tiny", finetune="full", eval_backend="vllm", device="cpu")
    student.answer(QUESTIONS, 4)
    student.train(PAIRS, seed=0, epochs=1)
    student.answer(QUESTIONS, 4)
    base, trained = fake_vllm.engines
    assert base.model == student.model_dir and "enable_lora" not in base.options
    assert base.shut_down and not trained.shut_down
    assert trained.model != student.model_dir
    assert (Path(trained.model) / "config.json").is_file()
    assert all(call["lora"] is None for call in fake_vllm.calls)
    assert [p["prompt_token_ids"] for p in fake_vllm.calls[-1]["prompts"]] == (
        transformers_prompt_ids(student, QUESTIONS)
    )


def test_env_passes_student_kwargs_to_the_hf_student():
    import gymnasium as gym

    import societygym  # noqa: F401

    env = gym.make(
        "DataEnv-Math-v0",
        student="tiny",
        student_kwargs={"eval_backend": "transformers", "eval_batch_size": 3},
        val_per_skill=1,
        test_per_skill=1,
    )
    student = env.unwrapped.student
    assert (student.eval_backend, student.eval_batch_size) == ("transformers", 3)
    with pytest.raises(ValueError):
        gym.make("DataEnv-Math-v0", student="tiny", student_kwargs={"eval_backend": "nope"})
    with pytest.raises(TypeError, match="student_kwargs"):
        gym.make("DataEnv-VQA-v0", student="cnn", student_kwargs={"eval_backend": "vllm"})
