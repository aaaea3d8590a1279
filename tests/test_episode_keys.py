"""One episode per key: ``run``, ``collect_rollouts`` and a leaderboard submission play the
same actions for the same ``(env id, seed, index)``, whatever the batch size or backend.

Every registered id is covered but two families, which play through the same engine:
the DataEnv ids, whose every step trains a student model (seconds to minutes each; see
``test_leaderboard_teaching``), and the single-step ReGAL program envs, whose one step runs a
program in the sandbox (their keying is that of the single-step trivia and persuasion ids).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from societygym.agents import load_agent
from societygym.leaderboard.commands import submit
from societygym.leaderboard.episodes import trace_path
from societygym.leaderboard.suites import Suite, Task
from societygym.registry import ENTRIES
from societygym.rollouts import collect_rollouts
from societygym.runner import run_episodes

IDS = [e.id for e in ENTRIES if not e.id.startswith(("DataEnv-", "ReGAL-"))]
MULTI_STEP = ["TextCraft-v0", "Persuasion-AreYouSure-v0", "Persuasion-Misinformation-v0"]
# the LLM's checks take the two multi-step loops (interactive TextCraft, a partner dialogue)
SEED, EPISODES, BATCHES = 1, 3, (1, 3, 8)
CHEAP = {"TextCraft-v0": {"max_steps": 6}, "Persuasion-v0": {"max_rounds": 1}}


def _actions(records: list[dict]) -> list:
    return [record["action"] for record in records]


def _trace(path: Path) -> list:
    _, *records = (json.loads(line) for line in path.read_text().splitlines())
    return _actions(records)


def _run(
    env_id: str, batch: int, out: Path, agent: Any = "random", schedule: str = "lockstep"
) -> list[list]:
    run_episodes(
        env_id,
        load_agent(agent) if isinstance(agent, str) else agent,
        episodes=EPISODES,
        seed=SEED,
        env_kwargs=CHEAP.get(env_id),
        batch_size=batch,
        out_dir=out,
        progress=False,
        indexed=True,
        schedule=schedule,
    )
    return [_trace(out / "episodes" / f"episode-{i:05d}.jsonl") for i in range(EPISODES)]


def _rollouts(env_id: str, batch: int) -> list[list]:
    rollouts = collect_rollouts(
        env_id,
        load_agent("random"),
        episodes=EPISODES,
        num_envs=batch,
        seed=SEED,
        env_kwargs=CHEAP.get(env_id),
        indexed=True,
    )
    per_episode: list[list] = [[] for _ in range(EPISODES)]
    steps: dict[tuple[int, int], dict] = {}
    for row in rollouts.rows:
        assert (row["seed"], row["index"]) == (SEED, row["episode"])
        if row["acted"]:
            steps.setdefault((row["episode"], row["step"]), {})[row["agent_id"]] = row["action"]
    for (episode, _), actions in sorted(steps.items()):
        per_episode[episode].append(actions)
    return per_episode


def _leaderboard(env_id: str, backend: str, batch: int, folder: Path) -> list[list]:
    task = Task(env_id, env_id, tuple(range(EPISODES)), env_kwargs=CHEAP.get(env_id, {}))
    suite = Suite("keys", 1, "episodes by key", (task,), seeds=(0, SEED, 2))
    submit(
        suite,
        "random",
        {},
        "test/random",
        run_dir=folder,
        backend=backend,
        workers=2,
        batch_size=batch,
        progress=False,
        store=False,
    )
    traces = folder / "traces"
    return [_trace(trace_path(traces, (env_id, SEED, i))) for i in range(EPISODES)]


def _as_rows(env_id: str, played: list[list]) -> list[list]:
    """Trace actions in the rollouts' shape: one dict of seat actions per step."""
    multi = env_id == "Persuasion-v0"
    return [[a if multi else {"agent": _text(a)} for a in actions] for actions in played]


def _text(action: object) -> object:
    return action if isinstance(action, str) else json.dumps(action, ensure_ascii=False)


@pytest.mark.parametrize("env_id", IDS)
def test_a_key_is_one_episode_everywhere(env_id: str, tmp_path: Path) -> None:
    runs = [_run(env_id, b, tmp_path / f"run{b}") for b in BATCHES]
    assert runs[0] == runs[1] == runs[2]
    assert any(runs[0]), "the random agent took no action"
    rollouts = [_rollouts(env_id, b) for b in BATCHES]
    assert rollouts[0] == rollouts[1] == rollouts[2] == _as_rows(env_id, runs[0])
    serial = _leaderboard(env_id, "serial", 3, tmp_path / "serial")
    assert serial == runs[0]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ["TextCraft-v0", "Persuasion-AreYouSure-v0", "Persuasion-v0"])
def test_a_process_pool_plays_the_keys_as_a_serial_run(env_id: str, tmp_path: Path) -> None:
    serial = _leaderboard(env_id, "serial", 1, tmp_path / "serial")
    assert _leaderboard(env_id, "process", 8, tmp_path / "process") == serial


@pytest.mark.parametrize("env_id", [*MULTI_STEP, "Persuasion-v0"])
def test_random_valid_plays_a_key_alike_at_every_batch_size(env_id: str, tmp_path: Path) -> None:
    runs = [_run(env_id, b, tmp_path / f"run{b}", "random-valid") for b in BATCHES]
    assert runs[0] == runs[1] == runs[2]
    assert runs[0] != _run(env_id, 1, tmp_path / "random", "random"), "the raw sampler"


@pytest.fixture(scope="module")
def tiny() -> Any:
    from societygym.llm import load_llm

    return load_llm("tiny")


@pytest.mark.parametrize("env_id", MULTI_STEP[:2])
def test_a_sampling_llm_plays_a_key_alike_at_every_batch_size_and_schedule(
    env_id: str, tiny: Any, tmp_path: Path
) -> None:
    """At temperature > 0 every row is sampled with its own episode's seed (the engine's
    ``act_seed``), in lockstep calls and in the continuous decoder alike."""
    from societygym.agents.llm_agent import LLMAgent

    def played(batch: int, schedule: str) -> list[list]:
        agent = LLMAgent(tiny, temperature=1.0, max_tokens=6)
        return _run(env_id, batch, tmp_path / f"{schedule}{batch}", agent, schedule)

    lockstep = [played(b, "lockstep") for b in BATCHES]
    assert lockstep[0] == lockstep[1] == lockstep[2]
    assert played(3, "continuous") == lockstep[0]
    assert len({json.dumps(a) for episode in lockstep[0] for a in episode}) > 1, "no sampling"


def test_a_sampling_llm_partner_plays_the_pettingzoo_env_alike_at_every_batch_size(
    tiny: Any, tmp_path: Path
) -> None:
    from societygym.envs.persuasion.partners import LLMPartner

    runs = [
        _run("Persuasion-v0", b, tmp_path / f"run{b}", LLMPartner(tiny, max_tokens=6))
        for b in BATCHES
    ]
    assert runs[0] == runs[1] == runs[2]
