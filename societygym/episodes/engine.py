"""The one episode loop: env slots, who acts, batched actions, traces.

Every way of playing episodes (``societygym run``, ``collect_rollouts``, the leaderboard's
workers, the terminal) goes through ``play``. Single-agent Gymnasium envs are seen through a
one-seat view of the PettingZoo parallel API, so the loop is written once for both.

Determinism: an episode depends on its ``EpisodeKey`` only. Each slot's env is reset with
the key's env seed and its action spaces are seeded with the key's action seed. Agents with
an ``act_batch`` of their own answer a step of every slot in one call (lockstep), and one
that takes ``seeds`` gets each row's ``act_seed`` (key, step, seat) to sample that row with;
the others (the random agents draw from the bound action space) play one episode at a time,
since lockstep would only interleave their draws across episodes (and so make an episode
depend on the batch size).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from societygym.agents.base import Agent, act_batch, batches
from societygym.episodes.keys import EpisodeKey
from societygym.traces import Jsonifier

SEAT = "agent"  # the one seat of a single-agent env


def must_act(infos: Mapping[str, Mapping[str, Any]], seat: str) -> bool:
    """Whether ``seat`` acts this step: every live seat does unless its info says
    ``to_act=False`` (a debater waiting for the other side)."""
    return infos.get(seat, {}).get("to_act", True) is not False


class SingleSeat:
    """A Gymnasium env seen through the parallel API with one seat, ``SEAT``."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.possible_agents = [SEAT]
        self.agents: list[str] = []
        self.unwrapped = env.unwrapped

    def action_space(self, seat: str) -> Any:
        return self.env.action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        observation, info = self.env.reset(seed=seed, options=options)
        self.agents = [SEAT]
        return {SEAT: observation}, {SEAT: info}

    def step(self, actions: Mapping[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        observation, reward, terminated, truncated, info = self.env.step(actions[SEAT])
        if terminated or truncated:
            self.agents = []
        return (
            {SEAT: observation},
            {SEAT: reward},
            {SEAT: terminated},
            {SEAT: truncated},
            {SEAT: info},
        )

    def close(self) -> None:
        self.env.close()


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> Any:
    """The env behind ``env_id`` in the parallel API (single-agent ones through ``SingleSeat``)."""
    from societygym.registry import entry

    if entry(env_id).multi_agent:
        import pettingzoo

        return pettingzoo.make("parallel", env_id, **dict(env_kwargs or {}))
    import societygym

    return SingleSeat(societygym.make(env_id, **dict(env_kwargs or {})))


def seat_agents(agents: Mapping[str, Agent] | Agent, seats: Sequence[str]) -> dict[str, Agent]:
    """One agent per seat: a mapping names them, a single agent plays every seat."""
    if not isinstance(agents, Mapping):
        return dict.fromkeys(seats, agents)
    missing = set(seats) - set(agents)
    if missing:
        raise ValueError(f"no agent given for {sorted(missing)}")
    return {seat: agents[seat] for seat in seats}


def slot_count(agents: Mapping[str, Agent], batch_size: int) -> int:
    """How many episodes play at once: ``batch_size`` when every agent batches, else one."""
    return max(1, batch_size) if all(batches(a) for a in agents.values()) else 1


def distinct(agents: Mapping[str, Agent]) -> list[Agent]:
    return list({id(a): a for a in agents.values()}.values())


def bind(agents: Mapping[str, Agent], env_id: str, env: Any) -> None:
    """Bind every distinct agent to the first seat it plays (its prompt, parser, space)."""
    done: set[int] = set()
    for seat, agent in agents.items():
        if hasattr(agent, "bind") and id(agent) not in done:
            agent.bind(env_id, env.action_space(seat), type(env.unwrapped))
            done.add(id(agent))


@dataclass
class Episode:
    """A finished episode: per-seat returns, its step records (JSON-ready) and infos."""

    key: EpisodeKey
    returns: dict[str, float]
    length: int
    first_info: Any
    final_info: Any
    trace: list[dict[str, Any]]
    single: bool

    @property
    def total(self) -> float:
        """The single seat's return, or the seats' mean."""
        return sum(self.returns.values()) / max(1, len(self.returns))


@dataclass
class Slot:
    env: Any
    key: EpisodeKey | None = None
    observations: dict[str, Any] = field(default_factory=dict)
    infos: dict[str, Any] = field(default_factory=dict)
    first_infos: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    trace: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Step:
    """What one step returned, per seat and as the env gave it (for live displays)."""

    key: EpisodeKey
    observations: dict[str, Any]
    rewards: dict[str, float]
    infos: dict[str, Any]
    ended: bool
    returns: dict[str, float]


StepHook = Callable[[Step], None]


class Table:
    """The slots, their agents and the queue of keys still to play: what ``play`` drives,
    and what a caller who is handed one action at a time (a trainer) drives itself."""

    def __init__(
        self,
        envs: Sequence[Any],
        agents: Mapping[str, Agent],
        keys: Iterable[EpisodeKey],
        jsonify: Jsonifier | None = None,
        on_step: StepHook | None = None,
    ) -> None:
        self.slots = [Slot(env) for env in envs]
        self.agents = agents
        self.keys = iter(keys)
        self.jsonify = jsonify or Jsonifier()
        self.on_step = on_step
        self.single = isinstance(envs[0], SingleSeat)

    def start(self, slot: Slot, key: EpisodeKey | None = None) -> bool:
        """Reset ``slot`` onto ``key`` or the next queued one; False (and the slot idle) when
        none is left."""
        slot.key = key if key is not None else next(self.keys, None)
        if slot.key is None:
            return False
        for agent in distinct(self.agents):
            if hasattr(agent, "reset"):
                agent.reset()
        for seat in slot.env.possible_agents:
            slot.env.action_space(seat).seed(slot.key.action_seed)
        slot.observations, slot.infos = slot.env.reset(
            seed=slot.key.env_seed, options=slot.key.options
        )
        slot.first_infos = slot.infos
        slot.totals = dict.fromkeys(slot.env.possible_agents, 0.0)
        slot.trace = []
        return True

    def pending(self, slot: Slot) -> list[str]:
        return [seat for seat in slot.env.agents if must_act(slot.infos, seat)]

    def advance(self, slot: Slot, actions: dict[str, Any], calls: dict[str, Any]) -> Episode | None:
        """Step ``slot`` and record it; the finished episode when it has ended."""
        observations, rewards, terminated, truncated, infos = slot.env.step(actions)
        record = self._record(slot, actions, rewards, terminated, truncated, infos, calls)
        slot.trace.append(record)
        for seat, reward in rewards.items():
            slot.totals[seat] = slot.totals.get(seat, 0.0) + float(reward)
        slot.observations, slot.infos = observations, infos
        assert slot.key is not None
        if self.on_step is not None:
            ended = not slot.env.agents
            self.on_step(Step(slot.key, observations, rewards, infos, ended, dict(slot.totals)))
        if slot.env.agents:
            return None
        return Episode(
            slot.key,
            dict(slot.totals),
            len(slot.trace),
            self._unseat(slot.first_infos),
            self._unseat(infos),
            slot.trace,
            self.single,
        )

    def _unseat(self, per_seat: dict[str, Any]) -> Any:
        return per_seat[SEAT] if self.single else per_seat

    def _record(
        self,
        slot: Slot,
        actions: dict[str, Any],
        rewards: dict[str, Any],
        terminated: dict[str, Any],
        truncated: dict[str, Any],
        infos: dict[str, Any],
        calls: dict[str, Any],
    ) -> dict[str, Any]:
        """One step of a trace: bare values for a single-agent env, per-seat dicts else."""
        jsonify, unseat = self.jsonify, self._unseat
        record = {
            "step": len(slot.trace),
            "observation": jsonify(unseat(slot.observations)),
            "action": jsonify(unseat(actions)),
            "reward": unseat({s: float(r) for s, r in rewards.items()}),
            "terminated": unseat({s: bool(t) for s, t in terminated.items()}),
            "truncated": unseat({s: bool(t) for s, t in truncated.items()}),
            "info": jsonify(unseat(infos)),
        }
        if calls:
            record["agent"] = jsonify(unseat(calls) if self.single else calls)
        return record


def play(
    envs: Sequence[Any],
    agents: Mapping[str, Agent],
    keys: Iterable[EpisodeKey],
    *,
    jsonify: Jsonifier | None = None,
    continuous: bool = False,
    on_step: StepHook | None = None,
) -> Iterator[Episode]:
    """Play ``keys`` on the slots ``envs`` (parallel-API envs from ``make_env``, agents
    bound and given per seat); each episode is yielded as it ends. ``continuous`` (one
    ``LLMAgent`` on a single-agent env whose LLM has a decoder) decodes the slots' prompts in
    one continuously refilled batch instead of one batched call per step."""
    table = Table(envs, agents, keys, jsonify, on_step)
    if continuous:
        yield from _continuous(table, next(iter(agents.values())))
    else:
        yield from _lockstep(table)


def _lockstep(table: Table) -> Iterator[Episode]:
    active = [slot for slot in table.slots if table.start(slot)]
    while active:
        actions, calls = act(table, active)
        for slot, slot_actions, slot_calls in zip(active, actions, calls, strict=True):
            episode = table.advance(slot, slot_actions, slot_calls)
            if episode is not None:
                yield episode
                table.start(slot)
        active = [slot for slot in table.slots if slot.key is not None]


def act(table: Table, active: list[Slot]) -> tuple[list[dict], list[dict]]:
    """Every pending action, one ``act_batch`` call per distinct agent object."""
    actions: list[dict[str, Any]] = [{} for _ in active]
    calls: list[dict[str, Any]] = [{} for _ in active]
    requests: dict[int, list[tuple[int, str]]] = {}
    for i, slot in enumerate(active):
        for seat in table.pending(slot):
            requests.setdefault(id(table.agents[seat]), []).append((i, seat))
    for agent in distinct(table.agents):
        asked = requests.get(id(agent), [])
        if not asked:
            continue
        got = act_batch(
            agent,
            [active[i].observations[seat] for i, seat in asked],
            [active[i].infos[seat] for i, seat in asked],
            [row_seed(active[i], seat) for i, seat in asked],
        )
        made = getattr(agent, "last_calls", None) or [None] * len(asked)
        for (i, seat), action, call in zip(asked, got, made, strict=True):
            actions[i][seat] = action
            if call is not None:
                calls[i][seat] = call
    return actions, calls


def row_seed(slot: Slot, seat: str) -> int:
    """The seed of ``seat``'s next action in ``slot``'s episode (its key and step alone)."""
    assert slot.key is not None
    return slot.key.act_seed(len(slot.trace), seat)


def _continuous(table: Table, agent: Any) -> Iterator[Episode]:
    decoder = agent.decoder(slots=len(table.slots))
    prompts: dict[int, Any] = {}

    def ask(index: int) -> None:
        slot = table.slots[index]
        prompts[index] = agent.render_prompt(slot.observations[SEAT])
        generator = agent.row_generator(row_seed(slot, SEAT))
        decoder.submit(agent.llm.encode(prompts[index]), index, generator)

    for index, slot in enumerate(table.slots):
        if table.start(slot):
            ask(index)
    while decoder.busy:
        for index, generation in decoder.step():
            action, call = agent.act_from(prompts[index], generation)
            slot = table.slots[index]
            episode = table.advance(slot, {SEAT: action}, {SEAT: call})
            if episode is None:
                ask(index)
                continue
            yield episode
            if table.start(slot):
                ask(index)
