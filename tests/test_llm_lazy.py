"""LLMs named by env options load on first use: ``gym.make`` of an LLM-backed env is cheap."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Sequence

import gymnasium as gym
import pytest

import societygym  # noqa: F401  (registers the ids)
from societygym.llm import Generation, Usage
from societygym.llm.lazy import LazyLLM

UTTERANCE = "I'm absolutely certain it is Lima."


class FakeLLM:
    """Unit-test double: a fixed reply and fixed yes/no scores."""

    name = "fake"

    def __init__(self) -> None:
        self.usage = Usage()

    def generate(self, prompts: Sequence, **kwargs) -> list[list[Generation]]:
        self.usage.add(10 * len(prompts), 3 * len(prompts))
        return [[Generation("I am sure it is Paris. Answer: Paris", 10, 3)] for _ in prompts]

    def score_batch(self, prompts: Sequence, continuations: Sequence[Sequence[str]]) -> list:
        self.usage.add(10 * len(prompts))
        return [[-0.5 if c.strip().lower() == "yes" else -1.5 for c in cs] for cs in continuations]


class CountingFactory:
    def __init__(self) -> None:
        self.specs: list[str] = []

    def __call__(self, spec: str) -> FakeLLM:
        self.specs.append(spec)
        return FakeLLM()


@pytest.fixture
def factory(monkeypatch) -> CountingFactory:
    counting = CountingFactory()
    monkeypatch.setattr("societygym.llm.load_llm", counting)
    return counting


def test_lazy_llm_loads_once_on_first_attribute() -> None:
    factory = CountingFactory()
    llm = LazyLLM("hf:some/model", loader=factory)
    copy.copy(llm), pickle.dumps(llm), repr(llm)  # none of these needs the model
    assert factory.specs == [] and not llm.loaded
    assert llm.usage.calls == 0
    llm.generate(["hi"])
    assert factory.specs == ["hf:some/model"] and llm.loaded and llm.usage.calls == 1


def test_make_of_an_llm_listener_env_loads_at_the_first_step(factory) -> None:
    env = gym.make("Trivia-Calibration-v0", listener="llm:hf:some/model", extractor="llm")
    env.reset(seed=0)
    assert factory.specs == []  # neither the listener nor the extractor was needed yet
    _, _, _, _, info = env.step(UTTERANCE)
    assert sorted(factory.specs) == ["embedded", "hf:some/model"]
    assert 0.0 < info["p_accept"] < 1.0 and info["llm_usage"]["calls"] >= 1


def test_make_of_an_llm_partner_env_loads_nothing(factory) -> None:
    env = gym.make("Persuasion-Misinformation-v0", partner="llm")
    assert factory.specs == []
    env.reset(seed=0)
    env.step("It is Lima.")
    assert factory.specs == ["embedded"]  # one model, loaded when the partner first spoke


def test_components_named_by_a_spec_load_on_first_use(factory) -> None:
    """`--partner-arg role=logical` (an LLMPartner agent) and the other LLM components
    built from a spec string cost nothing until they first generate or score."""
    from societygym.envs.dataenv.engines import LLMEngine
    from societygym.envs.persuasion.partners import LLMPartner
    from societygym.envs.trivia.listeners import LLMListener
    from societygym.envs.trivia.speakers import LLMSpeaker

    partner = LLMPartner("hf:some/model", role="logical")
    LLMListener("hf:some/model"), LLMSpeaker("hf:some/model"), LLMEngine("hf:some/model")
    assert factory.specs == []
    info = {"question": "What is the capital of Peru?", "history": [], "to_act": True}
    assert partner.act("", info).startswith("I am sure")
    assert factory.specs == ["hf:some/model"]
