"""The trivia envs' LLM paths on real models: the embedded SmolLM2 and a tiny random model."""

from __future__ import annotations

import gymnasium as gym
import pytest

import societygym  # noqa: F401  (registers the ids)
from societygym.envs.trivia.answers import LLMAnswerExtractor
from societygym.envs.trivia.calibration_env import TriviaCalibrationEnv
from societygym.envs.trivia.listener_env import TriviaListenerEnv
from societygym.envs.trivia.listeners import LLMListener, make_listener
from societygym.envs.trivia.speakers import LLMSpeaker
from societygym.llm import load_llm
from societygym.llm.lazy import LazyLLM

QUESTION = "What is the capital of Peru?"
CONFIDENT = "I am 100% sure it's [ANSWER REMOVED]."
UNSURE = "Maybe [ANSWER REMOVED]? Honestly just a wild guess."


@pytest.fixture(scope="module")
def embedded():
    return load_llm("embedded")


def test_embedded_listener_prefers_confident_phrasing(embedded) -> None:
    listener = LLMListener(embedded)
    assert listener.chat  # the embedded model is instruction-tuned
    confident, unsure = listener.p_accept_batch([QUESTION] * 2, [CONFIDENT, UNSURE])
    assert 0.0 < unsure < confident < 1.0


def test_text_mode_listener_returns_probabilities(embedded) -> None:
    p = LLMListener(embedded, chat=False).p_accept(QUESTION, CONFIDENT)
    assert 0.0 < p < 1.0


def test_calibration_env_with_llm_listener_counts_tokens(embedded) -> None:
    env = TriviaCalibrationEnv(listener=LLMListener(embedded), threshold=0.3)
    env.reset(seed=0, options={"index": 0})
    _, _, _, _, info = env.step("I'm absolutely certain it is Lima.")
    assert 0.0 < info["p_accept"] < 1.0
    assert info["llm_usage"]["calls"] >= 1 and info["llm_usage"]["prompt_tokens"] > 50


def test_embedded_llm_extractor_runs_on_the_real_model(embedded) -> None:
    # SmolLM2-135M is too weak an extractor to assert its answers (it tends to reply NONE);
    # the rule-based extractor is the default for that reason. This checks the real path.
    extractor = LLMAnswerExtractor(embedded)
    before = embedded.usage.snapshot()
    answers = extractor.extract_batch(
        ["I'm quite sure the capital of Peru is Lima.", "No clue, sorry."], [QUESTION] * 2
    )
    assert len(answers) == 2 and all(a is None or isinstance(a, str) for a in answers)
    assert embedded.usage.since(before)["completion_tokens"] > 0


def test_listener_env_with_a_real_llm_speaker() -> None:
    env = TriviaListenerEnv(speaker=LLMSpeaker(load_llm("tiny"), max_tokens=12))
    first, _ = env.reset(seed=3)
    again, _ = env.reset(seed=3)
    assert first == again and first.startswith("Question:")
    _, reward, terminated, _, info = env.step(1)
    assert terminated and reward in (1.0, -1.0, -0.5) and "utterance" in info


def test_make_listener_specs() -> None:
    assert isinstance(make_listener("llm:tiny"), LLMListener)
    with pytest.raises(ValueError, match="unknown listener"):
        make_listener("oracle")


def test_lazy_listener_scores_like_an_eager_one() -> None:
    """``gym.make(..., listener="llm:tiny")`` loads the model at the first step, and scores
    exactly as a listener built on an already loaded copy does."""
    lazy = gym.make("Trivia-Calibration-v0", listener="llm:tiny")
    listener = lazy.unwrapped.listener
    assert isinstance(listener.llm, LazyLLM) and not listener.llm.loaded
    eager = TriviaCalibrationEnv(listener=LLMListener(load_llm("tiny", shared=False)))
    results = []
    for env in (lazy, eager):
        env.reset(seed=0, options={"index": 0})
        results.append(env.step("I'm absolutely certain it is Lima.")[4]["p_accept"])
    assert listener.llm.loaded
    assert results[0] == pytest.approx(results[1], abs=1e-5)
