"""Result bundles: one self-describing, content-hashed JSON file per evaluation.

A bundle holds the suite's full specification, the agent spec and LLM settings, the
software (societygym version, git SHA), every episode's result and the summary computed
from them, and ``hash``: the SHA-256 of the canonical JSON of all of that. Only ``run``
(when and where it ran, how long it took) is outside the hash, so the same evaluation gives
the same hash whether it ran serially, in parallel, or was killed and resumed.

``validate`` is what every reader calls before trusting a bundle: it rejects a malformed
file (missing or mistyped fields), a tampered one (the content does not match its hash), and
an inconsistent one (episodes that are not exactly the suite's, a summary that is not the
one its episodes give, a suite that differs from the registered suite of that name).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from societygym.leaderboard import versions
from societygym.leaderboard.hashing import content_hash
from societygym.leaderboard.suites import SUITES, Suite

FORMAT = "societygym-leaderboard-bundle"
FORMAT_VERSION = 1
UNHASHED = ("hash", "run")
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class BundleError(ValueError):
    """A bundle that cannot be accepted; the message says why."""


class MalformedBundle(BundleError):
    pass


class TamperedBundle(BundleError):
    pass


def check_name(name: str) -> tuple[str, str]:
    """``TEAM/AGENT`` with letters, digits, ``._-`` in each part."""
    team, sep, agent = name.partition("/")
    if not sep or not team or not agent or not set(team + agent) <= NAME_CHARS:
        raise BundleError(f"name {name!r} must be TEAM/AGENT (letters, digits, '._-')")
    return team, agent


def software() -> dict[str, Any]:
    """The code that produced the results: version, and the git commit when run from a clone."""
    import societygym

    info: dict[str, Any] = {
        "societygym": societygym.__version__,
        "git_sha": None,
        "git_dirty": None,
        "python": platform.python_version(),
    }
    root = Path(societygym.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        info.update(git_sha=sha or None, git_dirty=bool(dirty.strip()))
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def build(
    name: str,
    suite: Suite,
    spec: Mapping[str, Any],
    episodes: Sequence[Mapping[str, Any]],
    run: Mapping[str, Any] | None = None,
    software_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete, hashed bundle from a finished run."""
    from societygym.leaderboard.stats import env_metrics, summarize

    check_name(name)
    bundle: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "suite": suite.to_dict(),
        "agent": dict(spec["agent"]),
        "evaluation": {"group_size": int(spec["group_size"])},
        "versions": spec.get("versions") or versions.current(suite),
        "software": dict(software_info or software()),
        "episodes": [{k: v for k, v in e.items() if k != "final_info"} for e in episodes],
        "summary": summarize(suite, episodes),
        "metrics": env_metrics(suite, episodes),
    }
    bundle["run"] = {
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **(run or {}),
    }
    bundle["hash"] = bundle_hash(bundle)
    return bundle


def bundle_hash(bundle: Mapping[str, Any]) -> str:
    return content_hash({k: v for k, v in bundle.items() if k not in UNHASHED})


# --- validation -----------------------------------------------------------------------------

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "name": str,
    "suite": dict,
    "agent": dict,
    "evaluation": dict,
    "software": dict,
    "episodes": list,
    "summary": dict,
    "metrics": dict,
    "hash": str,
}
_EPISODE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "task": str,
    "seed": int,
    "index": int,
    "return": (int, float),
    "length": int,
    "value": (int, float),
    "info": dict,
}


def _require(data: Mapping[str, Any], fields: Mapping[str, Any], where: str) -> None:
    for key, kind in fields.items():
        if key not in data:
            raise MalformedBundle(f"{where}: missing field {key!r}")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MalformedBundle(f"{where}: field {key!r} has type {type(value).__name__}")


def _non_finite(value: Any, where: str) -> str | None:
    """Where the first NaN or infinity is (JSON has no form for them, so no hash either)."""
    if isinstance(value, float) and not math.isfinite(value):
        return where
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def _check_versions(stated: Any) -> None:
    """``versions`` is optional (bundles made before it count as version 1 of everything)."""
    if stated is None:
        return
    parts = ("envs", "rewards", "scorers")
    if not isinstance(stated, dict) or set(stated) != set(parts):
        raise MalformedBundle(f"field 'versions' must hold exactly {', '.join(parts)}")
    for part in parts:
        table = stated[part]
        if not isinstance(table, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in table.values()
        ):
            raise MalformedBundle(f"versions.{part}: each version is an integer >= 1")


def _close(a: Any, b: Any) -> bool:
    """Summaries are recomputed on the reader's machine: compare floats to 1e-9."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def validate(bundle: Any, known: Mapping[str, Suite] = SUITES) -> Suite:
    """Raise ``BundleError`` (with the reason) unless the bundle is well-formed, untampered
    and consistent; return its suite."""
    if not isinstance(bundle, dict):
        raise MalformedBundle("a bundle is a JSON object")
    if bundle.get("format") != FORMAT:
        raise MalformedBundle(f"not a societygym bundle (format {bundle.get('format')!r})")
    _require(bundle, _FIELDS, "bundle")
    if bundle["format_version"] != FORMAT_VERSION:
        raise MalformedBundle(f"unsupported bundle format version {bundle['format_version']}")
    bad = _non_finite({k: v for k, v in bundle.items() if k not in UNHASHED}, "")
    if bad:
        part = bad.split(".")
        if part[0] == "episodes" and isinstance(bundle["episodes"][int(part[1])], dict):
            e = bundle["episodes"][int(part[1])]
            bad += f" (task {e.get('task')!r}, seed {e.get('seed')}, index {e.get('index')})"
        raise MalformedBundle(
            f"{bad} is not a finite number (NaN or infinity); every result must be finite"
        )
    _check_versions(bundle.get("versions"))
    computed = bundle_hash(bundle)
    if bundle["hash"] != computed:
        raise TamperedBundle(
            f"content hash mismatch: the bundle states {bundle['hash']} but its content hashes "
            f"to {computed}; it was modified after it was written"
        )
    check_name(bundle["name"])
    try:
        suite = Suite.from_dict(bundle["suite"])
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedBundle(f"bundle suite: {error}") from error
    registered = known.get(suite.name)
    if (
        registered is not None
        and registered.version == suite.version
        and registered.spec_hash != suite.spec_hash
    ):
        raise TamperedBundle(
            f"suite {suite.name!r} v{suite.version} in the bundle differs from the registered "
            f"one ({suite.spec_hash} vs {registered.spec_hash})"
        )
    for i, episode in enumerate(bundle["episodes"]):
        if not isinstance(episode, dict):
            raise MalformedBundle(f"episode {i}: not an object")
        _require(episode, _EPISODE_FIELDS, f"episode {i}")
    keys = [(e["task"], e["seed"], e["index"]) for e in bundle["episodes"]]
    if keys != list(suite.episode_keys()):
        raise MalformedBundle(
            "the episodes are not exactly the suite's episodes, in the suite's order "
            f"({len(keys)} given, {suite.episodes} expected)"
        )
    from societygym.leaderboard.stats import summarize

    if not _close(summarize(suite, bundle["episodes"]), bundle["summary"]):
        raise TamperedBundle("the summary is not the one its episodes give")
    return suite


def write(bundle: Mapping[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # one line per episode: compact, and a pull request's diff still reads episode by episode
    head = {k: v for k, v in bundle.items() if k != "episodes"}
    lines = ",\n".join(
        json.dumps(e, sort_keys=True, ensure_ascii=False) for e in bundle.get("episodes", [])
    )
    text = json.dumps(head, sort_keys=True, ensure_ascii=False)
    tmp.write_text(text[:-1] + ', "episodes": [\n' + lines + "\n]}\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read(path: str | Path) -> dict[str, Any]:
    """Parse and validate a bundle file."""
    try:
        bundle = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise MalformedBundle(f"{path}: cannot read: {error}") from error
    except json.JSONDecodeError as error:
        raise MalformedBundle(f"{path}: not JSON: {error}") from error
    try:
        validate(bundle)
    except BundleError as error:
        raise type(error)(f"{path}: {one_line(error)}") from error
    except (KeyError, TypeError, ValueError, IndexError) as error:  # a shape validate missed
        raise MalformedBundle(f"{path}: {type(error).__name__}: {one_line(error)}") from error
    return bundle


def one_line(error: BaseException) -> str:
    """An error message fit for one line of a report."""
    return " ".join(str(error).split()) or type(error).__name__
