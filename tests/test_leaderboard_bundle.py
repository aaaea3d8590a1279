"""Suites, evaluation backends and bundles: hashing, summaries, and rejecting bad bundles."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from societygym.leaderboard import bundle as bundles
from societygym.leaderboard.commands import submit
from societygym.leaderboard.episodes import AgentSpec, instances_sha
from societygym.leaderboard.evaluate import Journal, groups
from societygym.leaderboard.stats import summarize
from societygym.leaderboard.suites import SUITES, Suite, Task, get_suite
from tests.test_leaderboard_support import AGENT, evaluate_tiny, tiny_suite, write_suite


@pytest.fixture(scope="module")
def serial_bundle(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return evaluate_tiny(tmp_path_factory.mktemp("serial"))


def test_registered_suites_are_versioned_and_hashed() -> None:
    for required in ("trivia", "persuasion", "programs", "teaching-math", "all"):
        assert required in SUITES
    for suite in SUITES.values():
        assert len(suite.seeds) >= 3
        assert Suite.from_dict(suite.to_dict()).spec_hash == suite.spec_hash
    from societygym.leaderboard.suites import ALL_MEMBERS

    everything = SUITES["all"]
    parts = [SUITES[name] for name in ALL_MEMBERS]
    assert len(everything.tasks) == sum(len(s.tasks) for s in parts)
    assert sum(t.weight for t in everything.tasks) == pytest.approx(len(parts))


def test_a_changed_spec_changes_the_hash_and_a_stated_hash_is_checked() -> None:
    suite = tiny_suite()
    data = suite.to_dict()
    data["tasks"][0]["indices"] = [0, 1, 2]
    with pytest.raises(ValueError, match="stated hash"):
        Suite.from_dict(data)
    del data["hash"]
    assert Suite.from_dict(data).spec_hash != suite.spec_hash


def test_suite_validation_rejects_bad_definitions() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        Suite("s", 1, "", (Task("t", "TextCraft-v0", (0,)),), seeds=(0, 1))
    with pytest.raises(ValueError, match="distinct"):
        Task("t", "TextCraft-v0", (0, 0))
    with pytest.raises(ValueError, match="metric"):
        Task("t", "TextCraft-v0", (0,), metric="success")
    with pytest.raises(KeyError, match="unknown suite"):
        get_suite("no-such-suite")


@pytest.mark.parametrize("name", ["trivia", "trivia-listener", "persuasion", "programs"])
def test_instances_are_pinned(name: str) -> None:
    suite = SUITES[name]
    assert suite.instances_sha is not None
    assert instances_sha(suite) == suite.instances_sha


def test_bundle_is_complete_and_valid(serial_bundle: dict) -> None:
    suite = bundles.validate(serial_bundle, {})
    assert serial_bundle["name"] == "tests/coin"
    assert serial_bundle["agent"] == {"spec": AGENT, "args": {}, "llm": None}
    assert serial_bundle["software"]["societygym"]
    assert [(e["task"], e["seed"], e["index"]) for e in serial_bundle["episodes"]] == list(
        suite.episode_keys()
    )
    summary = serial_bundle["summary"]
    assert summary["seeds"] == [0, 1, 2]
    low, high = summary["ci95"]
    assert low <= summary["score"] <= high
    values = {e["value"] for e in serial_bundle["episodes"] if e["task"] == "trivia"}
    assert len(values) > 1, "the coin agent must give varied trivia rewards"
    assert high > low
    assert "ece" in serial_bundle["metrics"]["trivia"]
    assert (Path(serial_bundle["run"]["run_dir"]) / "traces" / "trivia").is_dir()


def test_process_pool_gives_the_identical_bundle(serial_bundle: dict, tmp_path: Path) -> None:
    pooled = submit(
        str(write_suite(tmp_path)),
        AGENT,
        {},
        "tests/coin",
        run_dir=tmp_path / "r",
        backend="process",
        workers=2,
        progress=False,
        store=False,
    )
    assert pooled["hash"] == serial_bundle["hash"]
    assert pooled["episodes"] == serial_bundle["episodes"]


def test_rerunning_the_specification_reproduces_the_scores(
    serial_bundle: dict, tmp_path: Path
) -> None:
    from societygym.cli import main

    path = bundles.write(serial_bundle, tmp_path / "b.json")
    assert (
        main(
            [
                "leaderboard",
                "reproduce",
                str(path),
                "--runs",
                str(tmp_path / "again"),
                "--no-record",
                "--backend",
                "serial",
                "--quiet",
            ]
        )
        == 0
    )


def test_tampered_results_with_the_old_hash_are_rejected(serial_bundle: dict) -> None:
    tampered = copy.deepcopy(serial_bundle)
    tampered["episodes"][0]["value"] += 1.0
    with pytest.raises(bundles.TamperedBundle, match="content hash mismatch"):
        bundles.validate(tampered, {})


def test_a_rehashed_summary_that_its_episodes_do_not_give_is_rejected(serial_bundle: dict) -> None:
    tampered = copy.deepcopy(serial_bundle)
    tampered["summary"]["score"] = 0.99
    tampered["hash"] = bundles.bundle_hash(tampered)
    with pytest.raises(bundles.TamperedBundle, match="summary is not the one"):
        bundles.validate(tampered, {})


def test_a_bundle_claiming_a_registered_suite_with_another_spec_is_rejected(
    serial_bundle: dict,
) -> None:
    impostor = copy.deepcopy(serial_bundle)
    impostor["suite"]["name"] = "trivia"
    impostor["suite"]["version"] = SUITES["trivia"].version
    impostor["suite"]["hash"] = Suite.from_dict({**impostor["suite"], "hash": None}).spec_hash
    impostor["hash"] = bundles.bundle_hash(impostor)
    with pytest.raises(bundles.TamperedBundle, match="differs from the registered"):
        bundles.validate(impostor)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b.pop("episodes"), "missing field 'episodes'"),
        (lambda b: b.update(format="zip"), "not a societygym bundle"),
        (lambda b: b["episodes"].pop(), "content hash mismatch"),
        (lambda b: b.update(name="no-slash"), "content hash mismatch"),
    ],
)
def test_malformed_bundles_get_clear_errors(serial_bundle: dict, edit, message: str) -> None:
    broken = copy.deepcopy(serial_bundle)
    edit(broken)
    with pytest.raises(bundles.BundleError, match=message):
        bundles.validate(broken, {})


def test_missing_episodes_are_reported_even_when_rehashed(serial_bundle: dict) -> None:
    broken = copy.deepcopy(serial_bundle)
    broken["episodes"].pop()
    broken["hash"] = bundles.bundle_hash(broken)
    with pytest.raises(bundles.MalformedBundle, match="not exactly the suite's episodes"):
        bundles.validate(broken, {})


def test_unreadable_files_are_rejected_by_the_cli(tmp_path: Path, capsys) -> None:
    from societygym.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["leaderboard", "verify", str(bad)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"{bad}: not JSON" in line


def test_journal_cuts_a_torn_last_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "episodes.jsonl")
    journal.append([{"task": "t", "seed": 0, "index": 0, "value": 1.0}])
    with open(journal.path, "a", encoding="utf-8") as handle:
        handle.write('{"task": "t", "seed": 0, "ind')  # killed mid-write
    assert list(journal.load()) == [("t", 0, 0)]
    journal.append([{"task": "t", "seed": 0, "index": 1, "value": 0.0}])
    assert list(journal.load()) == [("t", 0, 0), ("t", 0, 1)]


def test_groups_are_fixed_chunks_of_the_canonical_order() -> None:
    suite = tiny_suite(questions=4)
    full = groups(suite, 3, set())
    assert [len(g) for g in full] == [3, 3, 3, 3, 3, 3]
    assert {k[0] for g in full for k in g[:1]} == {"trivia", "textcraft"}
    done = {full[0][0]}
    assert groups(suite, 3, done)[0] == full[0][1:]  # a resumed chunk keeps its boundaries


def test_batching_agents_are_detected() -> None:
    assert AgentSpec("llm").batches()
    assert not AgentSpec("random").batches()
    settings = AgentSpec("llm", {"temperature": 0.7}).llm_settings()
    assert settings is not None and settings["temperature"] == 0.7 and settings["llm"] == "embedded"


def test_summary_bootstrap_is_deterministic_and_covers_seed_variation() -> None:
    suite = Suite("s", 1, "", (Task("t", "TextCraft-v0", tuple(range(20))),))
    episodes = [
        {"task": "t", "seed": s, "index": i, "value": float(s == 2)}
        for _, s, i in suite.episode_keys()
    ]
    first, second = summarize(suite, episodes), summarize(suite, episodes)
    assert first == second
    assert first["score"] == pytest.approx(1 / 3)
    assert first["per_seed"] == [0.0, 0.0, 1.0]
    assert first["ci95"][0] < 1 / 3 < first["ci95"][1]  # the seeds disagree: a wide interval
    json.dumps(first, allow_nan=False)


def test_a_multi_agent_env_in_a_suite_is_played_in_every_seat(tmp_path: Path) -> None:
    """The one agent plays every seat; an episode's return is the seats' mean."""
    task = Task(
        "p", "Persuasion-v0", (0,), metric="info.agent_0.correct", env_kwargs={"max_rounds": 1}
    )
    suite = Suite("multi", 1, "", (task,))
    bundle = submit(
        str(write_suite(tmp_path, suite)),
        "random",
        {},
        "tests/random",
        run_dir=tmp_path / "r",
        backend="serial",
        progress=False,
        store=False,
    )
    assert len(bundle["episodes"]) == 3
    assert all(not e.get("metric_missing") for e in bundle["episodes"])
