"""Leaderboard suites: named, versioned, frozen lists of episodes with a headline metric.

A suite fixes everything that decides a score — env ids and kwargs, the instance indices,
the seeds and the metric — so that two bundles of the same suite hash are comparable and a
bundle's specification can be re-run. Changing any of it means a new ``version``; the
``spec_hash`` makes an unannounced change visible, and ``instances_sha`` (the hash of the
instances' first observations) pins the data behind the indices.

Adding a suite is one entry in ``_SETTING_SUITES`` (a teaching domain's suites come from its
entry in ``registry.TEACHING_DOMAINS``); ``all`` is assembled from ``ALL_MEMBERS``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from societygym.leaderboard.hashing import content_hash

SEEDS = (0, 1, 2)  # at least three seeds, so the summary's interval has seed variation in it


@dataclass(frozen=True)
class Task:
    """One env of a suite: which instances, and what number each episode contributes.

    ``metric`` is ``"return"`` or ``"info.<path>"`` (a dotted path into the final info; a
    missing value counts as 0, a failure). ``indexed=False`` marks envs with no instance
    list (a teaching episode is one whole run): each seed plays index 0 once.
    ``plot`` names the agent-page plot: ``"reliability"``, ``"split:<info key>"``
    (accuracy by that key) or ``"curve:<info path>"`` (the value after every step).
    """

    name: str
    env_id: str
    indices: tuple[int, ...]
    metric: str = "return"
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    indexed: bool = True
    weight: float = 1.0
    plot: str | None = None

    def __post_init__(self) -> None:
        if not self.indices or len(set(self.indices)) != len(self.indices):
            raise ValueError(f"task {self.name!r}: indices must be non-empty and distinct")
        if not self.indexed and tuple(self.indices) != (0,):
            raise ValueError(f"task {self.name!r}: an unindexed task plays index 0 only")
        if self.metric != "return" and not self.metric.startswith("info."):
            raise ValueError(f"task {self.name!r}: metric must be 'return' or 'info.<path>'")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["indices"] = list(self.indices)
        data["env_kwargs"] = dict(self.env_kwargs)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        values = dict(data)
        values["indices"] = tuple(int(i) for i in values["indices"])
        values["env_kwargs"] = dict(values.get("env_kwargs") or {})
        return cls(**values)


@dataclass(frozen=True)
class Suite:
    """A versioned list of tasks played under every seed; the headline is the weighted mean
    of the tasks' metrics (weights let ``all`` count every setting equally)."""

    name: str
    version: int
    description: str
    tasks: tuple[Task, ...]
    seeds: tuple[int, ...] = SEEDS
    instances_sha: str | None = None  # pinned hash of the instances' first observations

    def __post_init__(self) -> None:
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"suite {self.name!r}: task names must be distinct")
        if len(self.seeds) < 3 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"suite {self.name!r}: needs at least 3 distinct seeds")

    def spec(self) -> dict[str, Any]:
        """Everything that decides a score (the description is documentation, not spec)."""
        return {
            "name": self.name,
            "version": self.version,
            "seeds": list(self.seeds),
            "tasks": [t.to_dict() for t in self.tasks],
            "instances_sha": self.instances_sha,
        }

    @property
    def spec_hash(self) -> str:
        return content_hash(self.spec())

    def to_dict(self) -> dict[str, Any]:
        return {**self.spec(), "description": self.description, "hash": self.spec_hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Suite:
        suite = cls(
            name=str(data["name"]),
            version=int(data["version"]),
            description=str(data.get("description", "")),
            tasks=tuple(Task.from_dict(t) for t in data["tasks"]),
            seeds=tuple(int(s) for s in data["seeds"]),
            instances_sha=data.get("instances_sha"),
        )
        stated = data.get("hash")
        if stated is not None and stated != suite.spec_hash:
            raise ValueError(f"suite {suite.name!r}: stated hash {stated} is not its spec's hash")
        return suite

    def episode_keys(self) -> Iterator[tuple[str, int, int]]:
        """Every episode as ``(task, seed, index)``, in the suite's canonical order."""
        for task in self.tasks:
            for seed in self.seeds:
                for index in task.indices:
                    yield task.name, seed, index

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"suite {self.name!r} has no task {name!r}")

    @property
    def episodes(self) -> int:
        return len(self.seeds) * sum(len(t.indices) for t in self.tasks)


def _spread(count: int, size: int) -> tuple[int, ...]:
    """``count`` indices spread evenly over ``size`` instances (splits are ordered by family,
    so the first ``count`` would be one family)."""
    return tuple(sorted({i * size // count for i in range(count)}))


_SETTING_SUITES: tuple[Suite, ...] = (
    # v2: the headline is the listener's net gain (true accepts minus false accepts), not
    # LACIE's reward, under which a wrong answer the listener rejects earns +1: random text
    # scored 0.94 on v1.
    Suite(
        "trivia",
        2,
        "LACIE trivia calibration: 100 test questions, lexical listener; headline: the "
        "listener's net gain, right answers it accepts minus wrong ones it accepts.",
        (
            Task(
                "Trivia-Calibration-v0",
                "Trivia-Calibration-v0",
                _spread(100, 247),
                metric="info.net_accept",
                plot="reliability",
            ),
        ),
        instances_sha="sha256:a3d19da17c90e12a94ec9dddec97db440f8158eb6010df79c4016d07d27dda3b",
    ),
    Suite(
        "trivia-listener",
        1,
        "LACIE's listener side: accept or reject 100 scripted speakers' anonymized answers.",
        (Task("Trivia-Listener-v0", "Trivia-Listener-v0", _spread(100, 247), plot="reliability"),),
        instances_sha="sha256:309baf1058f1075fb943330be77ae88834a66824ae3957d53c5ee3a508468d6e",
    ),
    Suite(
        "persuasion",
        1,
        "PBT single-agent evaluations: balanced resist/accept accuracy, are-you-sure and "
        "misinformation final accuracy (50 questions each, scripted partners).",
        (
            Task(
                "Persuasion-Balanced-v0",
                "Persuasion-Balanced-v0",
                tuple(range(100)),
                metric="info.correct",
                plot="split:half",
            ),
            Task(
                "Persuasion-AreYouSure-v0",
                "Persuasion-AreYouSure-v0",
                _spread(50, 247),
                metric="info.correct",
            ),
            Task(
                "Persuasion-Misinformation-v0",
                "Persuasion-Misinformation-v0",
                _spread(50, 247),
                metric="info.correct",
            ),
        ),
        instances_sha="sha256:c2b64608af0858397003b4d065e29ce14408011686e1698d69aa95ace74839c8",
    ),
    Suite(
        "programs",
        # v2: ReGAL-Logo's v2 DSL text (ReGAL's radians) changed the instances' first observations
        2,
        "ReGAL program synthesis: date programs, TextCraft programs and LOGO drawings "
        "(40 test tasks each), judged in the sandbox.",
        (
            Task(
                "ReGAL-Date-v0",
                "ReGAL-Date-v0",
                _spread(40, 489),
                metric="info.correct",
                plot="split:family",
            ),
            Task(
                "ReGAL-TextCraft-v0", "ReGAL-TextCraft-v0", _spread(40, 407), metric="info.success"
            ),
            Task(
                "ReGAL-Logo-v0",
                "ReGAL-Logo-v0",
                _spread(40, 334),
                metric="info.correct",
                plot="split:family",
            ),
        ),
        instances_sha="sha256:1cad977664f06f256f673cb6ce135ca216c195b1a8c91b06f274e7c4af756333",
    ),
)

# one teaching suite per DataEnv domain (``registry.TEACHING_DOMAINS``) and env kind
TEACHING_KINDS: tuple[tuple[str, str], ...] = (
    ("open-ended", ""),
    ("skill-list", "-skill-list"),
    ("skill-tree", "-skill-tree"),
)
# each domain's default student; a budget small enough to finish on a CPU
TEACHING_KWARGS: dict[str, Any] = {
    "max_iterations": 3,
    "max_examples": 120,
    "val_per_skill": 4,
    "test_per_skill": 4,
}


def _teaching_suites() -> list[Suite]:
    from societygym.registry import TEACHING_DOMAINS

    suites = []
    for domain in TEACHING_DOMAINS:
        for kind, name_part in TEACHING_KINDS:
            env_id = domain.env_id(kind)
            task = Task(
                env_id,
                env_id,
                (0,),
                metric="info.test.accuracy",
                indexed=False,
                env_kwargs=TEACHING_KWARGS,
                plot="curve:validation.accuracy",
            )
            suites.append(
                Suite(
                    f"teaching-{domain.stem.lower()}{name_part}",
                    1,
                    f"DataEnvGym {env_id.removeprefix('DataEnv-').removesuffix('-v0')}: teach "
                    "the default student for 3 iterations; the headline is its accuracy on "
                    "the frozen test split.",
                    (task,),
                )
            )
    return suites


# ``all`` lists its members explicitly: adding a member changes what ``all`` means, so it
# is a new ``ALL_VERSION`` (a new suite does not silently change old ``all`` scores)
ALL_MEMBERS: tuple[str, ...] = (
    "trivia",
    "trivia-listener",
    "persuasion",
    "programs",
    "teaching-math",
)
ALL_VERSION = 2  # v2: trivia v2 (net-accept headline)


def _all_suite(suites: Mapping[str, Suite]) -> Suite:
    """Every task of every member suite, weighted so that each suite counts once."""
    tasks = []
    for suite in (suites[name] for name in ALL_MEMBERS if name in suites):
        for task in suite.tasks:
            data = task.to_dict()
            data.update(name=f"{suite.name}/{task.name}", weight=task.weight / len(suite.tasks))
            tasks.append(Task.from_dict(data))
    return Suite(
        "all",
        ALL_VERSION,
        f"Every task of {', '.join(ALL_MEMBERS)}; each suite's headline weighs the same.",
        tuple(tasks),
    )


def _build() -> dict[str, Suite]:
    suites = {s.name: s for s in [*_SETTING_SUITES, *_teaching_suites()]}
    return {**suites, "all": _all_suite(suites)}


SUITES: dict[str, Suite] = _build()


def get_suite(name_or_path: str) -> Suite:
    """A registered suite by name, or a suite JSON file (``Suite.to_dict`` form)."""
    if name_or_path in SUITES:
        return SUITES[name_or_path]
    if name_or_path.endswith(".json"):
        import json
        from pathlib import Path

        return Suite.from_dict(json.loads(Path(name_or_path).read_text(encoding="utf-8")))
    raise KeyError(f"unknown suite {name_or_path!r}; known: {', '.join(SUITES)}")
