"""Any societygym env as a ``verifiers`` (v1) environment: a taskset, an env and a harness.

verifiers names a plugin by an importable module that exports one ``Taskset``, ``Env`` and
``Harness`` subclass each in ``__all__``; ours is the top-level shim ``societygym_verifiers``
(verifiers imports ids as top-level names), which re-exports this module::

    import verifiers.v1 as vf

    config = SocietyGymEnvConfig(
        taskset=SocietyGymTasksetConfig(id="societygym-verifiers", env="TextCraft-v0", size=50)
    )
    env = vf.load_environment(config)

(or on the command line ``--env.taskset.id societygym-verifiers --env.taskset.env
TextCraft-v0``). Task ``i`` is episode ``(seed, i)`` of the env, prompted as the LLM agent is
(``EnvSession``). ``SocietyGymEnv.run`` plays the episode with the env as the user, the way
verifiers' TextArena env does: each assistant reply is stepped into the env, the next
observation comes back as the user turn, and the episode's total reward is the trace's
``env_reward``; the final ``info`` goes into ``trace.info["env_info"]``.

``SocietyGymHarness`` is a chat loop run in-process (verifiers' own chat harnesses are
programs that ``uv`` installs in a sandbox, which an offline machine cannot): one
chat-completion call through the rollout's interception endpoint per turn, which is the
contract verifiers asks of an in-process harness, so traces, token accounting and training
clients see every model call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from societygym.integrations.session import EnvSession
from societygym.traces import Jsonifier

__all__ = [
    "SocietyGymData",
    "SocietyGymEnv",
    "SocietyGymEnvConfig",
    "SocietyGymHarness",
    "SocietyGymHarnessConfig",
    "SocietyGymTask",
    "SocietyGymTaskset",
    "SocietyGymTasksetConfig",
]


class SocietyGymTasksetConfig(vf.TasksetConfig):
    env: str = "Trivia-Calibration-v0"
    """The societygym env id."""
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the env (``gym.make`` / ``pettingzoo.make``)."""
    seed: int = 0
    """Task ``i`` is the episode ``(env, seed, i)``: ``societygym run --seed seed``'s ``i``-th."""
    size: int = Field(100, ge=1)
    """How many tasks (episodes) the taskset holds."""
    seat: str | None = None
    """The agent id the policy plays in a multi-agent env (default: the first); the other
    seats are played by societygym's scripted debater."""


class SocietyGymData(vf.TaskData):
    info: dict[str, Any]
    """``env``, ``env_kwargs``, ``seed``, ``index`` and ``seat``: what replays the episode."""


class SocietyGymTask(vf.Task[SocietyGymData, vf.State, vf.TaskConfig]):
    pass


class SocietyGymTaskset(vf.Taskset[SocietyGymTask, SocietyGymTasksetConfig]):
    def load(self) -> Iterator[SocietyGymTask]:
        config = self.config
        session = _session(config.env, config.env_kwargs, config.seat)
        for i in range(config.size):
            session.reset(config.seed, i)
            system, prompt = _split_prompt(session.prompt())
            yield SocietyGymTask(
                SocietyGymData(
                    name=f"{config.env}#{config.seed}/{i}",
                    prompt=prompt,
                    system_prompt=system,
                    info={
                        "env": config.env,
                        "env_kwargs": config.env_kwargs,
                        "seed": config.seed,
                        "index": i,
                        "seat": config.seat,
                    },
                ),
                config.task,
            )
        session.close()


class SocietyGymEnvConfig(vf.EnvConfig):
    # The harness runs in this process and executes nothing, so a local runtime suffices
    # (verifiers' default is a remote Prime sandbox).
    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())
    """The policy's seat."""
    max_turns: int = Field(64, ge=1)
    """A cap on model turns per episode, beyond the env's own step limits."""


class SocietyGymEnv(vf.Env[SocietyGymEnvConfig]):
    async def run(self, task: SocietyGymTask, agents: vf.Agents) -> None:
        info = task.data.info
        session = _session(info["env"], info["env_kwargs"], info["seat"])
        session.reset(info["seed"], info.get("index", 0))
        turns = 0
        async with agents.agent.interaction(task) as interaction:
            segment = await interaction.turn()
            while not segment.terminated:
                result = session.step(segment.last_reply)
                turns += 1
                if result.done or turns >= self.config.max_turns:
                    break  # the episode is over: end the exchange
                segment = await interaction.turn(result.observation)
        trace = interaction.trace
        trace.record_reward("env_reward", session.total_reward, 1.0)
        trace.record_metric("env_steps", float(session.steps))
        trace.info["env_info"] = json.loads(json.dumps(Jsonifier()(session.info)))
        trace.info["env_done"] = session.done
        session.close()


class SocietyGymHarnessConfig(vf.HarnessConfig):
    pass


class SocietyGymHarness(vf.Harness[SocietyGymHarnessConfig]):
    """One chat completion per turn through the interception endpoint, in-process."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_RESUME = True  # later turns relaunch on the whole conversation
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(
        self,
        ctx: Any,
        trace: Any,
        runtime: Any,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        tool_interception_url: str | None = None,
    ) -> vf.ProgramResult:
        from openai import AsyncOpenAI

        system, prompt = self.resolve_prompt(data)
        messages = [{"role": "system", "content": system}] if system else []
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        else:
            messages += [_plain(m) for m in prompt or []]
        async with AsyncOpenAI(base_url=endpoint, api_key=secret, max_retries=0) as client:
            await client.chat.completions.create(model=ctx.model, messages=messages)
        return vf.ProgramResult(exit_code=0, stdout="", stderr="")


def _session(env_id: str, env_kwargs: dict[str, Any], seat: str | None) -> EnvSession:
    return EnvSession(env_id, env_kwargs, seat=seat) if seat else EnvSession(env_id, env_kwargs)


def _split_prompt(prompt: Any) -> tuple[str | None, str]:
    """The LLM agent's prompt as verifiers' (system prompt, user prompt)."""
    if isinstance(prompt, str):
        return None, prompt
    system = next((m["content"] for m in prompt if m["role"] == "system"), None)
    return system, prompt[-1]["content"]


def _plain(message: Any) -> dict[str, str]:
    """A verifiers message (pydantic) as an OpenAI chat message."""
    if isinstance(message, dict):
        return {"role": message["role"], "content": message.get("content") or ""}
    content = message.content
    if not isinstance(content, str):
        content = "".join(getattr(part, "text", "") or "" for part in content or [])
    return {"role": message.role, "content": content}
