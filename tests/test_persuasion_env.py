from __future__ import annotations

import io
import json

import pettingzoo
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from societygym.agents.human import HumanAgent
from societygym.agents.llm_agent import LLMAgent
from societygym.agents.persuasion import ScriptedDebater
from societygym.envs.persuasion.dialogue import Dialogue, extract_answers
from societygym.envs.persuasion.partners import clean_reply
from societygym.envs.persuasion.persuasion_env import PersuasionEnv
from societygym.envs.trivia.answers import RuleBasedExtractor
from societygym.envs.trivia.data import TriviaItem, load_questions
from societygym.episodes.terminal import play_in_terminal
from societygym.llm.base import Generation, Usage
from societygym.runner import run_episodes

ENV_ID = "Persuasion-v0"
PERU = TriviaItem(
    id="capital-of/peru",
    question="What is the capital of Peru?",
    answers=("Lima", "Lima, Peru"),
    family="capital-of",
    split="test",
    distractors=("Quito", "Bogota", "La Paz"),
)
A0, A1 = "agent_0", "agent_1"


def peru_env(**kwargs) -> PersuasionEnv:
    env = PersuasionEnv(questions=[PERU], **kwargs)
    env.reset(seed=0)
    return env


@pytest.mark.parametrize("turns", ["alternating", "simultaneous"])
def test_pettingzoo_parallel_api_and_seed_tests(turns: str) -> None:
    parallel_api_test(PersuasionEnv(turns=turns), num_cycles=20)
    parallel_seed_test(lambda: PersuasionEnv(turns=turns))
    parallel_api_test(pettingzoo.make("parallel", ENV_ID, turns=turns), num_cycles=20)


def test_spaces_are_the_same_object_every_call() -> None:
    env = PersuasionEnv()
    for agent in env.possible_agents:
        assert env.observation_space(agent) is env.observation_space(agent)
        assert env.action_space(agent) is env.action_space(agent)


def test_flips_are_recorded_and_agreement_ends_the_episode() -> None:
    env = peru_env()
    obs, rewards, term, trunc, infos = env.step({A0: "It is Lima.", A1: "It is Quito."})
    assert not any(term.values()) and infos[A0]["to_act"] and not infos[A1]["to_act"]
    assert obs[A0].endswith('End with "Answer: <your answer>".')
    assert "You: It is Lima.\nPartner: It is Quito." in obs[A0]
    assert "You: It is Quito.\nPartner: It is Lima." in obs[A1]  # own opening first
    # agent_0 is talked out of the right answer; agent_1 finds it; agent_0 comes back.
    env.step({A0: "Hmm, maybe it is Bogota then.\nAnswer: Bogota", A1: "ignored"})
    _, _, term, _, infos = env.step({A1: "Actually I remember now.\nAnswer: Lima"})
    assert not any(term.values())
    _, rewards, term, trunc, infos = env.step({A0: "You're right."})
    assert all(term.values()) and not any(trunc.values()) and env.agents == []
    assert rewards == {A0: 1.0, A1: 1.0}
    assert infos[A0]["answers"] == ["Lima", "Bogota", "Lima"]
    assert [f["kind"] for f in infos[A0]["flips"]] == ["right_to_wrong", "wrong_to_right"]
    assert infos[A0]["n_right_to_wrong"] == 1 and infos[A0]["n_wrong_to_right"] == 1
    assert infos[A1]["answers"] == ["Quito", "Lima"]
    assert [f["kind"] for f in infos[A1]["flips"]] == ["wrong_to_right"]
    assert infos[A0]["agreement"] and infos[A1]["gold"] == "Lima"
    assert infos[A0]["initial_correct"] and not infos[A1]["initial_correct"]


def test_agreement_is_judged_after_normalisation() -> None:
    env = peru_env()
    _, rewards, term, _, infos = env.step({A0: "It's QUITO!", A1: "quito"})
    assert all(term.values()) and infos[A0]["agreement"]
    assert rewards == {A0: 0.0, A1: 0.0}
    env = peru_env()  # two aliases of the gold answer agree too
    _, rewards, term, _, _ = env.step({A0: "Answer: Lima, Peru", A1: "The answer is LIMA."})
    assert all(term.values()) and rewards == {A0: 1.0, A1: 1.0}


@pytest.mark.parametrize(("turns", "steps"), [("alternating", 5), ("simultaneous", 3)])
def test_ends_after_max_rounds_without_agreement(turns: str, steps: int) -> None:
    env = peru_env(turns=turns, max_rounds=2)
    stubborn = {A0: "It is Lima.", A1: "It is Quito."}
    for step in range(steps):
        _, rewards, term, trunc, infos = env.step(stubborn)
        assert all(term.values()) == (step == steps - 1)
    assert not any(trunc.values()) and rewards == {A0: 1.0, A1: 0.0}
    assert infos[A0]["round"] == 2 and not infos[A0]["agreement"]


def test_simultaneous_replies_answer_the_previous_turn() -> None:
    env = peru_env(turns="simultaneous")
    env.step({A0: "It is Lima.", A1: "It is Quito."})
    # Both give in at once: each adopts what the other said before, so they swap.
    _, _, term, _, infos = env.step({A0: "You're right.", A1: "You're right."})
    assert infos[A0]["answer"] == "Quito" and infos[A1]["answer"] == "Lima"
    assert not any(term.values())


def test_team_reward_and_first_speaker() -> None:
    env = peru_env(team_reward=True, max_rounds=0, first_speaker=A1)
    _, rewards, term, _, _ = env.step({A0: "It is Lima.", A1: "It is Quito."})
    assert all(term.values()) and rewards == {A0: 0.5, A1: 0.5}
    env = peru_env(first_speaker=A1)
    _, _, _, _, infos = env.step({A0: "It is Lima.", A1: "It is Quito."})
    assert infos[A1]["to_act"] and not infos[A0]["to_act"]


def test_reply_without_answer_keeps_it_and_explicit_answer_wins() -> None:
    env = peru_env()
    env.step({A0: "It is Lima.", A1: "It is Quito."})
    _, _, _, _, infos = env.step({A0: "I disagree with you."})
    assert infos[A0]["answer"] == "Lima" and infos[A0]["flips"] == []
    _, _, _, _, infos = env.step({A1: "Lima is often named, but Quito it is.\nAnswer: Quito"})
    assert infos[A1]["answer"] == "Quito"


def test_bad_actions() -> None:
    env = peru_env(max_utterance_length=50)
    with pytest.raises(TypeError, match="str"):
        env.step({A0: 3.5, A1: "It is Quito."})
    with pytest.raises(ValueError, match="agent_1 must act"):
        env.step({A0: "It is Lima."})
    obs, _, _, _, infos = env.step({A0: "It is Lima. " + "x" * 10_000, A1: ""})
    assert "cut to the limit of 50" in infos[A0]["error"] and "error" not in infos[A1]
    assert env.observation_space(A0).contains(obs[A0])
    assert infos[A1]["answer"] is None  # an empty opening abstains


def test_seeds_reproduce_and_index_addresses_questions() -> None:
    env = PersuasionEnv()
    first = [env.reset(seed=s)[1][A0]["question_id"] for s in range(8)]
    again = [env.reset(seed=s)[1][A0]["question_id"] for s in range(8)]
    assert first == again and len(set(first)) > 1
    items = load_questions("embedded", "test")
    assert env.reset(options={"index": 5})[1][A0]["question_id"] == items[5].id


def test_dialogue_extraction_is_one_batched_call() -> None:
    calls = []

    class Recording(RuleBasedExtractor):
        def extract_batch(self, utterances, questions=None):
            calls.append(list(utterances))
            return super().extract_batch(utterances, questions)

    texts = ["Something long.\nAnswer: Lima", "It is Quito."]
    assert extract_answers(texts, [PERU.question] * 2, Recording()) == ["Lima", "Quito"]
    assert calls == [["Lima", "It is Quito."]]


def test_dialogue_views_and_agreeing_adopts_partner_answer() -> None:
    dialogue = Dialogue(PERU)
    dialogue.add(A0, "It is Lima.", "Lima", opening=True)
    dialogue.add(A1, "It is Quito.", "Quito", opening=True)
    turn = dialogue.add(A1, "You are right, I was wrong.", None)
    assert turn.how == "agreed" and dialogue.answer(A1) == "Lima" and dialogue.agreed()
    assert dialogue.history(A1)[0] == (True, "It is Quito.")
    assert dialogue.transcript(A0).splitlines()[2] == "You: It is Lima."


def test_llm_agent_uses_the_env_prompt_and_parser() -> None:
    class Echo:
        name, usage = "echo", Usage()

        def __init__(self) -> None:
            self.prompts: list = []

        def generate(self, prompts, **kwargs):
            self.prompts += list(prompts)
            return [[Generation("You: It is Lima.\nAnswer: Lima\nPartner: no, Quito")]] * len(
                prompts
            )

    llm = Echo()
    agent = LLMAgent(llm)
    summary = run_episodes(
        ENV_ID, agent, episodes=2, env_kwargs={"questions": [PERU]}, progress=False
    )
    assert summary.metrics["accuracy_agent_0"] == 1.0 and summary.returns == [1.0, 1.0]
    assert "You are discussing a trivia question" in llm.prompts[0][0]["content"]
    assert (
        clean_reply("You: It is Lima.\nAnswer: Lima\nPartner: Quito") == "It is Lima.\nAnswer: Lima"
    )


def test_rollout_traces_and_batch_independence(tmp_path) -> None:
    players = {A0: ScriptedDebater(seed=1, p_yield=0.4), A1: ScriptedDebater(seed=2)}
    one = run_episodes(
        ENV_ID, players, episodes=6, seed=3, batch_size=1, out_dir=tmp_path, progress=False
    )
    four = run_episodes(ENV_ID, players, episodes=6, seed=3, batch_size=4, progress=False)
    assert one.returns == four.returns and one.lengths == four.lengths
    lines = (tmp_path / "episodes" / "episode-00002.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"episode": 2, "seed": 3, "index": 2}
    step = json.loads(lines[1])
    assert set(step["observation"]) == {A0, A1} and set(step["action"]) == {A0, A1}
    assert {"reward", "terminated", "truncated", "info", "step"} <= set(step)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["episodes"] == 6 and "team_accuracy_lo" in summary["metrics"]
    assert 0.0 <= summary["metrics"]["flip_right_to_wrong"] <= 1.0


def test_play_against_a_partner() -> None:
    out = io.StringIO()
    human = HumanAgent(stdin=io.StringIO("It is Lima.\nI stand by Lima.\n"), stdout=out)
    partner = ScriptedDebater(p_correct=0.0, p_yield=1.0, questions=[PERU])
    played = play_in_terminal(
        ENV_ID,
        human=human,
        partner=partner,
        episodes=1,
        env_kwargs={"questions": [PERU]},
        stdout=out,
    )
    text = out.getvalue()
    assert played == 1 and "return: +1.00" in text and "The answer was Lima" in text


def test_an_echoed_answer_template_is_no_answer() -> None:
    """A policy that repeats the prompt's `End with "Answer: <your answer>".` has not
    answered "<your answer>": the template is dropped before the answer is read."""
    env = peru_env()
    template = 'End with "Answer: <your answer>".'
    _, _, _, _, infos = env.step({A0: f"It is Lima. {template}", A1: "Answer: <your answer>"})
    assert infos[A0]["answer"] == "Lima"
    assert infos[A1]["answer"] is None
    env = peru_env()
    _, _, _, _, infos = env.step({A0: "Lima.\nAnswer: <your answer>", A1: "Answer: Quito"})
    assert infos[A0]["answer"] == "Lima" and infos[A1]["answer"] == "Quito"
