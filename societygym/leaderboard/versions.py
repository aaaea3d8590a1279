"""Code versions of what decides a score: each env, each named reward preset, the scorer.

A suite's spec pins *what* is played (ids, kwargs, instances, seeds, metric); these versions
pin the *code* that plays and scores it. A bundle records the versions it was made under
(``bundle["versions"]``, inside its hash); a bundle whose versions differ from the current
ones is **stale**: still shown, flagged, and re-run by ``leaderboard rescore --stale``. A
bundle with no recorded versions predates them and counts as version 1 of everything.

Each entry below is one line: the fingerprints of the behaviours it has had, oldest first;
its version is how many there are. A fingerprint hashes a few fixed episodes (first
observations, then returns, lengths, metric values and infos of a random and a fixed
agent) or, for the scorer, a fixed summary. ``tests/test_leaderboard_versions.py`` recomputes
them: a behaviour change fails it until the new fingerprint is appended to the line, which
bumps the version. ``python -m societygym.leaderboard.versions`` prints the current ones. A
``None`` is a behaviour not fingerprinted yet (the teaching probes take minutes each); it
still counts as a version, and the test skips it until it is filled in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from societygym.leaderboard.hashing import content_hash
from societygym.leaderboard.suites import SUITES, Suite, Task

# --- the declared behaviours: bump an entry by appending its new fingerprint ----------------

ENVS: dict[str, tuple[str | None, ...]] = {
    # v2: the default reward became the "calibrated" preset (was LACIE's table)
    "Trivia-Calibration-v0": ("b8428a350190", "01ec7aad6fa6"),
    "Trivia-Listener-v0": ("f7fb6499934f",),
    "Persuasion-Balanced-v0": ("8a9fa0e2d98a",),
    "Persuasion-AreYouSure-v0": ("91acbc8a09aa",),
    "Persuasion-Misinformation-v0": ("ec79ee65c239",),
    "ReGAL-Date-v0": ("5ee12136a210",),
    "ReGAL-TextCraft-v0": ("3c822c6dabc3",),
    # v2: ReGAL's units (heading in radians, raw teleport); v3: no drawing array in info
    # (scores unchanged; ``info_images=True`` brings it back)
    "ReGAL-Logo-v0": ("efdb4636fecf", "ee69503740d3", "2331a721732a"),
    # v2: the reward is measured on a hidden half of validation, feedback on the other half;
    # None: not measured yet (`python -m societygym.leaderboard.versions` prints it)
    "DataEnv-Math-v0": ("d34574280eb9", "7bcad742ccf6"),
    "DataEnv-Math-SkillList-v0": ("3beb8649d9d0", "f16fd455cea4"),
    "DataEnv-Math-SkillTree-v0": ("e827cd7d9084", "2722f15eb417"),
    "DataEnv-VQA-v0": ("750f70f9128c", "023a59781fe8"),
    "DataEnv-VQA-SkillList-v0": ("3506b7d0046a", "715b71ce9c42"),
    "DataEnv-VQA-SkillTree-v0": ("a279b02ebeaa", "862f1a7dd454"),
    "DataEnv-Code-v0": (None, "a944a885383d"),
    "DataEnv-Code-SkillList-v0": (None, "4f23d39edbdc"),
    "DataEnv-Code-SkillTree-v0": (None, "5bdfff0fb088"),
    "DataEnv-ToolUse-v0": (None, "0292b48beb48"),
    "DataEnv-ToolUse-SkillList-v0": (None, "9daacbcabafe"),
    "DataEnv-ToolUse-SkillTree-v0": (None, "db0ecf48e8aa"),
}
# named reward presets a suite selects (``env_kwargs["reward"]``), as ``"<env id>:<preset>"``;
# an env's default reward is part of the env's own entry
REWARDS: dict[str, tuple[str | None, ...]] = {
    "Trivia-Calibration-v0:calibrated": ("01ec7aad6fa6",),
    "Trivia-Calibration-v0:net": ("971d6555026d",),
    "Trivia-Calibration-v0:lacie": ("b8428a350190",),
}
# the headline: per-seed means, task weights, the bootstrap interval (``stats.summarize``)
SCORERS: dict[str, tuple[str | None, ...]] = {
    "summary": ("299ac64ef7d8",),
}

INITIAL = 1  # the version of anything a bundle does not record
PROBE_INDICES = (0, 1)
# teaching envs train a student every step: probe them with the tiny one, briefly
PROBE_TEACHING_KWARGS: dict[str, Any] = {
    "student": "tiny",
    "max_iterations": 2,
    "max_examples": 20,
    "val_per_skill": 1,
    "test_per_skill": 1,
}


def version(table: Mapping[str, tuple[str | None, ...]], name: str) -> int:
    """An entry's current version; something not listed is at its initial version."""
    return len(table[name]) if name in table else INITIAL


def reward_key(task: Task) -> str | None:
    preset = task.env_kwargs.get("reward")
    return f"{task.env_id}:{preset}" if isinstance(preset, str) else None


def current(suite: Suite) -> dict[str, dict[str, int]]:
    """The versions a bundle of ``suite`` made now records."""
    rewards = sorted({key for t in suite.tasks if (key := reward_key(t))})
    return {
        "envs": {e: version(ENVS, e) for e in sorted({t.env_id for t in suite.tasks})},
        "rewards": {r: version(REWARDS, r) for r in rewards},
        "scorers": {s: version(SCORERS, s) for s in sorted(SCORERS)},
    }


def recorded(bundle: Mapping[str, Any], suite: Suite) -> dict[str, dict[str, int]]:
    """The versions a bundle was made under (all initial when it predates versions)."""
    stated = bundle.get("versions")
    if isinstance(stated, Mapping):
        return {k: dict(v) for k, v in stated.items()}
    return {part: dict.fromkeys(names, INITIAL) for part, names in current(suite).items()}


def changes(bundle: Mapping[str, Any], suite: Suite) -> list[str]:
    """What changed since the bundle was made, e.g. ``["env Trivia-Calibration-v0 1->2"]``;
    empty when the bundle is current."""
    then, now = recorded(bundle, suite), current(suite)
    found = []
    for part in ("envs", "rewards", "scorers"):
        for name in sorted(set(then.get(part, {})) | set(now[part])):
            old, new = then.get(part, {}).get(name, INITIAL), now[part].get(name, INITIAL)
            if old != new:
                found.append(f"{part[:-1]} {name} {old}->{new}")
    return found


# --- fingerprints ---------------------------------------------------------------------------


def _digestible(value: Any) -> Any:
    """Observations and infos as hashable JSON: floats rounded (the last bits of a float differ
    between machines, behaviour does not), arrays reduced to their bytes' hash."""
    import hashlib

    import numpy as np

    if isinstance(value, np.ndarray):
        return {"sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}
    if isinstance(value, np.generic):
        return _digestible(value.item())
    if isinstance(value, float):
        return round(value, 6) if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, Mapping):
        return {str(k): _digestible(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_digestible(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)


def probe_kwargs(env_id: str) -> dict[str, Any]:
    return dict(PROBE_TEACHING_KWARGS) if env_id.startswith("DataEnv-") else {}


def probe_agents(env_id: str, action_space: Any) -> dict[str, Any]:
    """A random and a fixed agent (its action fits the space); a teaching env gets a teacher
    whose data is accepted, so that the probe trains and scores the student."""
    from gymnasium import spaces

    from societygym.leaderboard.evaluate import AgentSpec

    if env_id.startswith("DataEnv-"):
        domain = env_id.split("-")[1].lower()
        if env_id.endswith("SkillTree-v0"):
            return {"tree": AgentSpec("tree-alternating")}
        return {"teacher": AgentSpec("nostate-teacher", {"domain": domain, "examples_per_step": 4})}
    fixed = {"action": 1} if isinstance(action_space, spaces.Discrete) else {}
    return {"random": AgentSpec("random"), "fixed": AgentSpec("fixed", fixed)}


def fingerprint_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> str:
    """12 hex digits that change when the env behaves differently on a few fixed episodes."""
    import societygym
    from societygym.leaderboard.evaluate import evaluate

    kwargs = {**probe_kwargs(env_id), **dict(env_kwargs or {})}
    indexed = not env_id.startswith("DataEnv-")
    indices = PROBE_INDICES if indexed else (0,)
    probe = Suite(
        "probe", 1, "", (Task(env_id, env_id, indices, env_kwargs=kwargs, indexed=indexed),)
    )
    env = societygym.make(env_id, **kwargs)
    agents = probe_agents(env_id, env.action_space)
    observations = []
    for index in indices:
        observation, _ = env.reset(seed=index, options={"index": index} if indexed else None)
        observations.append(_digestible(observation))
    env.close()
    outcomes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, agent in agents.items():
            results = evaluate(probe, agent, Path(folder) / name, backend="serial", progress=False)
            outcomes[name] = [
                _digestible(
                    {k: r.get(k) for k in ("seed", "index", "return", "length", "value", "info")}
                )
                for r in results
            ]
    return content_hash({"observations": observations, "outcomes": outcomes})[7:19]


def fingerprint_reward(key: str) -> str:
    env_id, _, preset = key.partition(":")
    return fingerprint_env(env_id, {"reward": preset})


def fingerprint_scorer(name: str) -> str:
    """The summary of fixed synthetic episodes: two weighted tasks, three seeds."""
    from societygym.leaderboard.stats import summarize

    if name != "summary":
        raise KeyError(f"unknown scorer {name!r}")
    suite = Suite(
        "probe",
        1,
        "",
        (
            Task("a", "TextCraft-v0", (0, 1, 2, 3), weight=2.0),
            Task("b", "TextCraft-v0", (0, 1, 2)),
        ),
    )
    episodes = [
        {"task": t, "seed": s, "index": i, "value": ((s + 1) * (i + 3) * len(t)) % 5 / 4.0}
        for t, s, i in suite.episode_keys()
    ]
    return content_hash(_digestible(summarize(suite, episodes)))[7:19]


def suite_envs() -> list[str]:
    """Every env id a registered suite plays: the ones that must have a declared version."""
    return sorted({t.env_id for s in SUITES.values() for t in s.tasks})


def main() -> None:
    """Print every entry's declared and current fingerprint (slow: it plays the probes)."""
    for table, measure in (
        (SCORERS, fingerprint_scorer),
        (REWARDS, fingerprint_reward),
        (ENVS, fingerprint_env),
    ):
        for name, prints in table.items():
            now = measure(name)
            state = "ok" if now == prints[-1] else "CHANGED: append it (or replace a None)"
            print(f"{name:36s} v{len(prints)} {now} {state}", flush=True)


if __name__ == "__main__":
    main()
