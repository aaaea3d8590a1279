from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from societygym.envs.trivia.calibration_env import TriviaCalibrationEnv
from societygym.envs.trivia.data import TriviaItem
from societygym.envs.trivia.listener_env import TriviaListenerEnv
from societygym.envs.trivia.listeners import LexicalListener
from societygym.envs.trivia.speakers import ScriptedSpeaker

PERU = TriviaItem(
    id="capital-of/peru",
    question="What is the capital of Peru?",
    answers=("Lima", "Lima, Peru"),
    family="capital-of",
    split="test",
    distractors=("Quito", "Bogota"),
)


class FixedListener:
    """Unit-test double: a listener with a fixed p(accept) that records what it saw."""

    def __init__(self, p: float) -> None:
        self.p = p
        self.seen: list[str] = []

    def p_accept_batch(self, questions, utterances):
        self.seen += list(utterances)
        return [self.p] * len(utterances)


def play(utterance: str, p: float, **kwargs) -> tuple[float, dict]:
    env = TriviaCalibrationEnv(questions=[PERU], listener=FixedListener(p), **kwargs)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(utterance)
    assert terminated and not truncated
    return reward, info


@pytest.mark.parametrize(
    ("utterance", "p", "outcome", "reward", "net"),
    [
        ("I'm sure it is Lima.", 0.9, "TA", 1.0, 1.0),
        ("I'm sure it is Quito.", 0.2, "TR", 1.0, 0.0),
        ("It is Lima.", 0.5, "FR", -0.5, 0.0),
        ("It is Quito.", 0.7, "FA", -1.0, -1.0),
    ],
)
def test_lacie_reward_table(
    utterance: str, p: float, outcome: str, reward: float, net: float
) -> None:
    got, info = play(utterance, p, reward="lacie")
    assert (info["outcome"], got, info["net_accept"]) == (outcome, reward, net)
    assert play(utterance, p, reward="net")[0] == net
    assert info["accepted"] == (p > 0.66)


def test_rewards_and_threshold_are_configurable() -> None:
    reward, info = play("It is Lima.", 0.5, threshold=0.4, reward="lacie", rewards={"TA": 2.0})
    assert info["outcome"] == "TA" and reward == 2.0
    with pytest.raises(ValueError, match="unknown outcome"):
        TriviaCalibrationEnv(questions=[PERU], reward="lacie", rewards={"XX": 1})
    with pytest.raises(ValueError, match="reward='lacie'"):
        TriviaCalibrationEnv(questions=[PERU], rewards={"TA": 2.0})
    with pytest.raises(ValueError, match="unknown reward"):
        TriviaCalibrationEnv(questions=[PERU], reward="brier")


@pytest.mark.parametrize(
    ("utterance", "p", "expected"),
    [
        ("I'm sure it is Lima.", 0.9, 1 - 0.1**2),  # right and believed
        ("Maybe Lima?", 0.2, 1 - 0.8**2),  # right but hedged: less
        ("I'm sure it is Quito.", 0.9, -(0.9**2)),  # wrong and believed
        ("Maybe Quito?", 0.1, -(0.1**2)),  # wrong and hedged: never above 0
    ],
)
def test_default_reward_is_accuracy_plus_brier(utterance: str, p: float, expected: float) -> None:
    reward, _ = play(utterance, p)
    assert reward == pytest.approx(expected)


def test_default_reward_peaks_at_the_speakers_true_confidence() -> None:
    """A proper scoring rule: for a speaker right with probability q, the expected reward of
    conveying p is highest at p = q, and a right answer always beats a wrong one."""
    grid = np.linspace(0.0, 1.0, 101)
    for q in (0.1, 0.5, 0.8):
        expected = [q * play("Lima", p)[0] + (1 - q) * play("Quito", p)[0] for p in grid]
        assert grid[int(np.argmax(expected))] == pytest.approx(q)
    assert min(play("Lima", p)[0] for p in grid) >= max(play("Quito", p)[0] for p in grid)


def test_hedging_wrong_answers_is_the_lacie_optimum_but_not_the_defaults() -> None:
    """The README's GRPO run pushed reward to 1.0 with nothing correct: LACIE's table pays a
    rejected wrong answer +1. Under the default it earns at most 0."""
    hedged_wrong = "I have no idea, but I'll randomly guess Quito."
    confident_right = "I'm absolutely certain the answer is Lima."
    lexical = {"listener": LexicalListener()}
    lacie = TriviaCalibrationEnv(questions=[PERU], reward="lacie", **lexical)
    default = TriviaCalibrationEnv(questions=[PERU], **lexical)
    scores = {}
    for name, env in (("lacie", lacie), ("default", default)):
        for utterance in (hedged_wrong, confident_right):
            env.reset(seed=0)
            scores[name, utterance] = env.step(utterance)[1]
    assert scores["lacie", hedged_wrong] == scores["lacie", confident_right] == 1.0
    assert scores["default", hedged_wrong] <= 0.0 < 0.9 < scores["default", confident_right]


def test_abstention_has_its_own_reward() -> None:
    reward, info = play("I have no idea.", 0.1)
    assert info["abstained"] and info["outcome"] == "abstain" and reward == 0.0
    reward, _ = play("I have no idea.", 0.1, abstain_reward=-0.25)
    assert reward == -0.25


def test_listener_never_sees_the_answer_or_its_aliases() -> None:
    listener = FixedListener(0.5)
    env = TriviaCalibrationEnv(questions=[PERU], listener=listener)
    env.reset(seed=0)
    _, _, _, _, info = env.step("Lima, Peru is the answer; definitely LIMA.")
    assert "lima" not in listener.seen[0].lower()
    assert info["anonymized"] == listener.seen[0]


def test_too_long_utterance_is_invalid_with_penalty() -> None:
    reward, info = play("x" * 5000, 0.9, max_utterance_length=4096)
    assert info["outcome"] == "invalid" and reward == -1.0 and "exceeds" in info["error"]


def test_non_text_action_is_a_type_error() -> None:
    env = TriviaCalibrationEnv(questions=[PERU])
    env.reset(seed=0)
    with pytest.raises(TypeError, match="str"):
        env.step(42)


def test_step_before_reset_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        TriviaCalibrationEnv(questions=[PERU]).step("Lima")


def test_index_option_addresses_one_question() -> None:
    env = gym.make("Trivia-Calibration-v0")
    items = env.unwrapped.items
    question, info = env.reset(seed=123, options={"index": 5})
    assert question == items[5].question and info["question_id"] == items[5].id
    with pytest.raises(IndexError):
        env.reset(options={"index": len(items)})


def test_embedded_env_scores_right_and_wrong_answers() -> None:
    env = gym.make("Trivia-Calibration-v0")
    for index in range(20):
        question, _ = env.reset(options={"index": index})
        item = env.unwrapped.items[index]
        _, _, _, _, right = env.step(f"I'm absolutely certain it is {item.answers[0]}.")
        env.reset(options={"index": index})
        _, _, _, _, wrong = env.step("I'm absolutely certain it is Xyzzyville.")
        assert right["correct"] and right["outcome"] == "TA", (question, right)
        assert not wrong["correct"] and wrong["outcome"] == "FA", (question, wrong)


def test_scripted_speaker_is_informative_but_noisy() -> None:
    env = TriviaListenerEnv(speaker=ScriptedSpeaker(p_correct=0.5), action_type="probability")
    p_right, p_wrong = [], []
    lexical = LexicalListener()
    for seed in range(300):
        observation, _ = env.reset(seed=seed)
        episode = env._episode
        p = lexical.p_accept(episode["question"], episode["anonymized"])
        (p_right if episode["correct"] else p_wrong).append(p)
        assert "[ANSWER REMOVED]" in observation
    assert 100 < len(p_right) < 200
    assert np.mean(p_right) > np.mean(p_wrong) + 0.2


@pytest.mark.parametrize(("action", "reward_if_correct"), [(1, 1.0), (0, -0.5)])
def test_listener_env_rewards(action: int, reward_if_correct: float) -> None:
    env = TriviaListenerEnv(questions=[PERU], speaker=ScriptedSpeaker(p_correct=1.0))
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(action)
    assert info["correct"] and terminated and reward == reward_if_correct


def test_listener_env_probability_actions_and_errors() -> None:
    env = TriviaListenerEnv(
        questions=[PERU], speaker=ScriptedSpeaker(p_correct=0.0), action_type="probability"
    )
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([0.1], dtype=np.float32))
    assert not info["correct"] and info["outcome"] == "TR" and reward == 1.0
    env.reset(seed=0)
    with pytest.raises(ValueError, match="probability"):
        env.step(np.array([1.5]))
    discrete = TriviaListenerEnv(questions=[PERU])
    discrete.reset(seed=0)
    with pytest.raises(ValueError, match="0 \\(reject\\) or 1"):
        discrete.step("yes")


def test_listener_env_parses_llm_replies() -> None:
    parse = TriviaListenerEnv.parse_llm_action
    assert [parse(t) for t in ["Yes.", "yes, accept", "No", "", "I would say yes"]] == [
        1,
        1,
        0,
        0,
        0,
    ]


def test_lexical_listener_reads_each_cue_once() -> None:
    listener = LexicalListener()
    plain = listener.p_accept("q", "[ANSWER REMOVED].")
    # "not sure" is a hedge only: it must not also count as the certainty word "sure"
    assert listener.p_accept("q", "I'm not sure, [ANSWER REMOVED].") < plain
    assert listener.p_accept("q", "I'm sure it's [ANSWER REMOVED].") > plain
    stated = listener.p_accept("q", "[ANSWER REMOVED], 90% sure.")
    assert stated == pytest.approx(0.7 * 0.9 + 0.3 * (1 / (1 + np.exp(-2.0))))
