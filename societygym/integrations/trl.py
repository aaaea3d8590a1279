"""TRL adapters: any societygym env as GRPO prompts + rewards, or as a multi-turn environment.

Single-step envs (trivia, date and LOGO programs, TextCraft programs, the persuasion
evaluations with one agent turn, ...) map onto ``GRPOTrainer`` directly:
``prompt_dataset`` renders episode ``(seed, i)`` (the episode ``societygym run --seed seed``
plays as its ``i``-th) into the LLM agent's prompt, and ``EnvReward`` scores each completion
by replaying that episode and stepping the env with it, so every logged reward is the env's
own. The env is deterministic given its key, which the replay checks.

Multi-step envs (``TextCraft-v0``, ``Persuasion-v0``) use TRL's ``environment_factory``:
``TRLEnvironment`` exposes one tool, ``act``, that steps the env, and ``get_reward``, the
episode return. TRL drives it through the model's tool calls, so the tokenizer needs a chat
template that does tool calls; ``tool_template.with_tool_template`` gives ChatML models
without one (the embedded SmolLM2, the tiny test model) either Hermes tool calls or
``"replies"``, where each reply is the action. Each episode's seed, actions and rewards go
to a shared ``log``, so a run can be audited against the env.

``load_preferences`` reads the DPO JSONL that the LACIE and PBT pipelines export into the
dataset ``DPOTrainer`` takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from societygym.integrations.session import EnvSession

TOOL_HINT = (
    "\n\nPlay by calling the `act` tool with your action; it replies with what happens next. "
    "Keep calling it until the episode is over."
)
# The hint for ``with_tool_template(..., "replies")``, where each reply is the action.
REPLY_HINT = (
    "\n\nPlay one action per reply; after each, you are told what happens next. "
    "Keep playing until the episode is over."
)


def prompt_dataset(
    env_id: str,
    size: int,
    *,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    tool_hint: bool | str = False,
    **session_kwargs: Any,
) -> Any:
    """A ``datasets.Dataset`` of ``size`` episodes: ``prompt`` (chat messages, or text with
    ``chat=False``), ``seed`` and ``index`` (the episode's key), ``env_id`` and
    ``observation`` (the first observation's text).

    ``session_kwargs`` go to ``EnvSession`` (``seat``, ``partner``, ``prompt``, ``system``,
    ``chat``); ``tool_hint`` appends an instruction to call the ``act`` tool (multi-turn),
    or the given text (e.g. ``REPLY_HINT``).
    """
    from datasets import Dataset

    hint = TOOL_HINT if tool_hint is True else tool_hint or ""
    session = EnvSession(env_id, env_kwargs, **session_kwargs)
    rows = []
    for episode in range(size):
        observation = session.reset(seed, episode)
        prompt = session.prompt()
        if hint:
            prompt = _with_hint(prompt, hint)
        rows.append(
            {
                "prompt": prompt,
                "seed": seed,
                "index": episode,
                "env_id": env_id,
                "observation": observation,
            }
        )
    session.close()
    return Dataset.from_list(rows)


class EnvReward:
    """A ``GRPOTrainer`` reward function: replays each row's episode and steps it with the
    completion; the reward is the env's. ``metrics`` are ``info`` keys (numbers or booleans)
    whose batch means are logged next to the reward, e.g. ``("correct", "accepted")``.

    ``history`` keeps, per call, the keys, completions, rewards and infos, so that a run can
    be audited against the env.
    A completion that does not end its episode raises ``ValueError``: the env is multi-step,
    so train it with ``TRLEnvironment`` instead.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        metrics: Sequence[str] = (),
        **session_kwargs: Any,
    ) -> None:
        self.__name__ = "env_reward"  # the name TRL logs the reward under
        self.session = EnvSession(env_id, env_kwargs, **session_kwargs)
        self.metrics = tuple(metrics)
        self.history: list[dict[str, list[Any]]] = []

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        seed: Sequence[int],
        index: Sequence[int] | None = None,
        observation: Sequence[str] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        **_: Any,
    ) -> list[float]:
        rewards, infos, texts = [], [], [completion_text(c) for c in completions]
        indices = [0] * len(texts) if index is None else index
        keys = list(zip(seed, indices, strict=True))
        for row, (text, (episode_seed, episode)) in enumerate(zip(texts, keys, strict=True)):
            replayed = self.session.reset(int(episode_seed), int(episode))
            if observation is not None and replayed != observation[row]:
                raise RuntimeError(
                    f"{self.session.env_id} episode {(episode_seed, episode)} replayed a "
                    "different first "
                    "observation than the prompt was made from: is the env deterministic?"
                )
            result = self.session.step(text)
            if not result.done:
                raise ValueError(
                    f"{self.session.env_id} did not end after one completion; for multi-step "
                    "envs use TRLEnvironment (environment_factory)"
                )
            rewards.append(result.reward)
            infos.append(result.info)
        self.history.append(
            {
                "seeds": [int(x) for x in seed],
                "indices": [int(x) for x in indices],
                "completions": texts,
                "rewards": rewards,
                "infos": infos,
            }
        )
        if log_metric is not None:
            for key in self.metrics:
                values = [float(info[key]) for info in infos if _is_number(info.get(key))]
                if values:
                    log_metric(f"env/{key}", sum(values) / len(values))
        return rewards


@dataclass
class Episode:
    """One episode a ``TRLEnvironment`` played: what it was given and what the env paid."""

    seed: int | None
    index: int = 0
    actions: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)  # one per action
    episode_return: float = 0.0  # what ``get_reward`` returns (includes partner turns)
    done: bool = False


class TRLEnvironment:
    """A multi-step env for ``GRPOTrainer(environment_factory=...)``.

    TRL calls ``reset(**row)`` with a row of ``prompt_dataset(..., tool_hint=True)`` (only
    its key, ``seed`` and ``index``, is used: the prompt already shows the first
    observation), exposes every
    public method but ``reset``/``get_reward`` as a tool (here only ``act``), and adds
    ``get_reward`` (the episode's total reward) to the rewards. Each reset appends the new
    ``Episode`` to ``log`` when one is given (TRL resets once per rollout, in batch order).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        log: list[Episode] | None = None,
        **session_kwargs: Any,
    ) -> None:
        self._session = EnvSession(env_id, env_kwargs, **session_kwargs)
        self._log = log
        self._episode = Episode(seed=None, done=True)

    @property
    def env(self) -> Any:
        """The env the episodes are played in (read it, e.g. for the current task; act
        through ``act``)."""
        return self._session.env

    def reset(self, seed: int = 0, index: int = 0, **_: Any) -> None:
        seed, index = int(seed), int(index)
        self._session.reset(seed, index)
        self._episode = Episode(seed, index, episode_return=self._session.total_reward)
        if self._log is not None:
            self._log.append(self._episode)

    def act(self, action: str) -> str:
        """Take one action in the environment (a command, an answer or an utterance).

        Args:
            action: The action, as you would write it for the environment.

        Returns:
            What the environment shows after the action, and whether the episode is over.
        """
        if self._session.done:
            return "The episode is over; no more actions are taken."
        result = self._session.step(action)
        self._episode.actions.append(action)
        self._episode.rewards.append(result.reward)
        self._episode.episode_return = self._session.total_reward
        self._episode.done = result.done
        status = "The episode is over." if result.done else "Your turn."
        return f"{result.observation}\n\n(reward {result.reward:g}. {status})"

    def get_reward(self) -> float:
        return self._session.total_reward


def environment_factory(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    log: list[Episode] | None = None,
    **session_kwargs: Any,
) -> Callable[[], TRLEnvironment]:
    """The zero-argument factory TRL's ``environment_factory`` takes; every env it makes
    appends its episodes to ``log``."""
    return partial(TRLEnvironment, env_id, env_kwargs, log=log, **session_kwargs)


def load_preferences(path: str | Path) -> Any:
    """A DPO JSONL (LACIE's ``pairs``, PBT's ``*.dpo.jsonl``) as a ``datasets.Dataset`` with
    ``prompt``/``chosen``/``rejected`` (text or conversational), as ``DPOTrainer`` takes it;
    the pipelines' metadata columns are dropped."""
    from datasets import load_dataset

    dataset = load_dataset("json", data_files=str(path), split="train")
    missing = {"prompt", "chosen", "rejected"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"{path} is not a DPO file: no {sorted(missing)} column")
    return dataset.select_columns(["prompt", "chosen", "rejected"])


def completion_text(completion: Any) -> str:
    """A TRL completion as text: a string, or the content of its assistant messages."""
    if isinstance(completion, str):
        return completion
    return "".join(
        str(m.get("content") or "") for m in completion if m.get("role", "assistant") == "assistant"
    )


def _with_hint(prompt: Any, hint: str) -> Any:
    if isinstance(prompt, str):
        return prompt + hint
    *head, last = prompt
    return [*head, {**last, "content": last["content"] + hint}]


def _is_number(value: Any) -> bool:
    return isinstance(value, (bool, int, float))
