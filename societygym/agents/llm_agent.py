"""An agent backed by any LLM backend (embedded, transformers, OpenAI-compatible HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gymnasium import spaces

from societygym.agents.base import BaseAgent
from societygym.contracts import prompt_hooks
from societygym.llm.base import LLM, Generation, Prompt, SamplingParams

DEFAULT_PROMPT = "{observation}"


def observation_text(observation: Any) -> str:
    """The text an LLM reads: the observation itself, or its ``"text"`` field."""
    if isinstance(observation, dict):
        return str(observation.get("text", observation))
    return str(observation)


class LLMAgent(BaseAgent):
    """Prompts an LLM with the observation and parses its reply into an action.

    The prompt template (``{observation}`` is replaced by the observation's text) and the
    parser default to the env's own (``agent_prompt`` and ``parse_llm_action`` on the env
    class) and can be overridden. Calls are batched across envs by ``act_batch``.
    After each call ``last_calls`` holds the prompt, completion, token counts and (where the
    backend gives them) completion token ids and log-probs per action.
    """

    def __init__(
        self,
        llm: LLM | str = "embedded",
        prompt: str | None = None,
        system: str | None = None,
        chat: bool = True,
        max_tokens: int = 96,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = 0,
        stop: Sequence[str] | None = None,
        parser: Callable[[str], Any] | None = None,
    ) -> None:
        if isinstance(llm, str):
            from societygym.llm import load_llm

            llm = load_llm(llm)
        self.llm = llm
        self.prompt = prompt
        self.system = system
        self.chat = chat
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.seed = seed
        self.stop = list(stop) if stop else None
        self.parser = parser
        self.last_calls: list[dict[str, Any]] = []
        self._calls = 0

    def bind(self, env_id: str, action_space: spaces.Space, env_class: type | None) -> None:
        super().bind(env_id, action_space, env_class)
        prompt, parser = prompt_hooks(env_class)
        if self.prompt is None:
            self.prompt = prompt or DEFAULT_PROMPT
        if self.parser is None:
            self.parser = parser

    def render_prompt(self, observation: Any) -> Prompt:
        text = (self.prompt or DEFAULT_PROMPT).replace(
            "{observation}", observation_text(observation)
        )
        if not self.chat:
            return text
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return [*messages, {"role": "user", "content": text}]

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        return self.act_batch([observation], [info])[0]

    def act_batch(
        self,
        observations: Sequence[Any],
        infos: Sequence[dict[str, Any]],
        seeds: Sequence[int] | None = None,
    ) -> list:
        """One batched call. ``seeds`` (the episode engine's, one per row from the row's
        episode key) sample each row with its own seed, so at temperature > 0 a row's reply
        does not depend on the rest of the batch; without them the call's seed is
        ``seed`` plus the number of calls made before (reproducible for one sequence of
        calls only)."""
        prompts = [self.render_prompt(o) for o in observations]
        seed: int | list[int] | None = None
        if self.seed is not None:
            seed = self.seed + self._calls if seeds is None else [self.row_seed(s) for s in seeds]
        self._calls += 1
        generations = self.llm.generate(
            prompts,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.stop,
            seed=seed,
        )
        acted = [self.act_from(p, g[0]) for p, g in zip(prompts, generations, strict=True)]
        self.last_calls = [call for _, call in acted]
        return [action for action, _ in acted]

    def act_from(self, prompt: Prompt, generation: Generation) -> tuple[Any, dict[str, Any]]:
        """The action parsed from ``generation`` and the record of the call behind it."""
        call = {
            "prompt": prompt,
            "completion": generation.text,
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
            # None where the backend does not report them (e.g. some HTTP servers)
            "token_ids": generation.token_ids,
            "logprobs": generation.logprobs,
        }
        text = generation.text.strip()
        return (self.parser(text) if self.parser else text), call

    def row_seed(self, seed: int) -> int:
        """The sampling seed of a row the engine seeded ``seed`` (this agent's ``seed`` picks
        another stream of the same episodes)."""
        assert self.seed is not None
        return (seed + self.seed) % 2**31

    def row_generator(self, seed: int) -> Any:
        """A generator that samples one row of a continuous batch alone (None when decoding
        is greedy or unseeded)."""
        if self.temperature <= 0 or self.seed is None:
            return None
        return self.llm.row_generator(self.row_seed(seed))

    def decoder(self, slots: int) -> Any:
        """A continuous-batching decoder with this agent's sampling settings, for runners
        that feed it one env copy's prompt at a time (``LLM``s that have ``decoder``)."""
        import torch

        greedy = self.temperature <= 0
        generator = None
        if self.seed is not None and not greedy:
            generator = torch.Generator(self.llm.device).manual_seed(self.seed)
        params = SamplingParams(
            1, self.max_tokens, self.temperature, self.top_p, tuple(self.stop or ()), self.seed
        )
        return self.llm.decoder(params, slots=slots, generator=generator)
