"""Skill discovery: which skill each evaluation question exercises.

Gold skills come from the generators (every built-in domain labels its items). DataEnvGym
also discovers skills with an LLM when no labels exist; ``LLMSkillDiscovery`` does the same
three passes:

1. *label*: the LLM names the skill each question tests (a short phrase), in batches;
2. *group*: it groups the distinct names into at most ``max_categories`` categories;
3. *map*: each question gets the category of its skill name (names the grouping left out
   fall back to their own best match by word overlap, and then to ``"other"``).

Every LLM reply is cached on disk by (model name, prompt), so discovering again over the
same questions — the next episode, a resumed run — costs no LLM call. ``DiscoveredSkills``
wraps a domain so the skill-list and skill-tree envs see the discovered categories instead
of the gold labels.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from societygym.envs.dataenv.actions import decode_json_action
from societygym.envs.dataenv.domain import Domain
from societygym.envs.dataenv.near_duplicates import NearDuplicateIndex
from societygym.envs.dataenv.records import Example, Graded, TaskItem

OTHER = "other"
MAX_NAME = 60  # characters of a skill or category name

LABEL_PROMPT = """Name the skill that this question tests, in 2 to 5 words (for example
"two-digit addition" or "unit conversion"). Reply with the skill name only.
Question: {question}"""

GROUP_PROMPT = """Group these skill names into at most {k} broader categories.
Reply with only a JSON object mapping each category name to the list of its skill names.
Skill names:
{names}"""


def _clean_name(text: str) -> str:
    """A reply reduced to a short lower-case skill name ("" when nothing usable)."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(skill( name)?\s*:\s*)", "", line.strip(), flags=re.I)
    line = re.sub(r"[^\w\s\-]", " ", line.lower())
    return " ".join(line.split())[:MAX_NAME]


def _words(name: str) -> set[str]:
    return set(name.split())


class ReplyCache:
    """LLM replies on disk, one JSON file per (model, prompt) hash."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def _path(self, model: str, prompt: str) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(f"{model}\n{prompt}".encode()).hexdigest()[:24]
        return self.folder / f"{key}.json"

    def get(self, model: str, prompt: str) -> str | None:
        path = self._path(model, prompt)
        if path is None or not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))["reply"]

    def put(self, model: str, prompt: str, reply: str) -> None:
        path = self._path(model, prompt)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"prompt": prompt, "reply": reply}), encoding="utf-8")
        tmp.replace(path)  # atomic: a reader never sees half a reply


@dataclass
class Discovery:
    """The outcome: a category per question id, and the categories in first-seen order."""

    labels: dict[str, str]  # item id -> raw skill name
    categories: dict[str, list[str]]  # category -> skill names
    assignment: dict[str, str]  # item id -> category
    llm_calls: int = 0

    @property
    def skills(self) -> tuple[str, ...]:
        seen = dict.fromkeys(self.assignment[i] for i in self.assignment)
        return tuple(seen)


class LLMSkillDiscovery:
    """Discover skills with any LLM backend (a spec for ``load_llm`` or an LLM object)."""

    def __init__(
        self,
        llm: Any = "embedded",
        max_categories: int = 8,
        cache_dir: str | Path | None = None,
        batch_size: int = 16,
        max_tokens: int = 16,
        group_max_tokens: int = 512,
    ) -> None:
        from societygym.llm import load_llm

        self.llm = load_llm(llm)
        self.max_categories = int(max_categories)
        self.cache = ReplyCache(cache_dir)
        self.batch_size = int(batch_size)
        self.max_tokens = int(max_tokens)
        self.group_max_tokens = int(group_max_tokens)
        self.calls = 0

    def _ask(self, prompts: Sequence[str], max_tokens: int) -> list[str]:
        """Replies to ``prompts`` (greedy), from the cache where present."""
        model = getattr(self.llm, "name", type(self.llm).__name__)
        replies = [self.cache.get(model, p) for p in prompts]
        missing = [i for i, r in enumerate(replies) if r is None]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            out = self.llm.generate(
                [[{"role": "user", "content": prompts[i]}] for i in chunk], max_tokens=max_tokens
            )
            self.calls += 1
            for i, gens in zip(chunk, out, strict=True):
                replies[i] = gens[0].text
                self.cache.put(model, prompts[i], gens[0].text)
        return [r or "" for r in replies]

    def label(self, items: Sequence[TaskItem]) -> dict[str, str]:
        prompts = [LABEL_PROMPT.format(question=i.question) for i in items]
        names = [_clean_name(r) for r in self._ask(prompts, self.max_tokens)]
        return {item.id: name or OTHER for item, name in zip(items, names, strict=True)}

    def group(self, names: Sequence[str]) -> dict[str, list[str]]:
        """Categories over ``names``; every name ends up in exactly one category."""
        distinct = sorted(set(names))
        if len(distinct) <= self.max_categories:
            return {n: [n] for n in distinct}
        prompt = GROUP_PROMPT.format(
            k=self.max_categories, names="\n".join(f"- {n}" for n in distinct)
        )
        return assign_names(distinct, self._ask([prompt], self.group_max_tokens)[0])

    def discover(self, items: Sequence[TaskItem]) -> Discovery:
        before = self.calls
        labels = self.label(items)
        categories = self.group(list(labels.values()))
        category_of = {n: c for c, ns in categories.items() for n in ns}
        assignment = {i: category_of.get(n, OTHER) for i, n in labels.items()}
        return Discovery(labels, categories, assignment, self.calls - before)


def assign_names(names: Sequence[str], reply: str) -> dict[str, list[str]]:
    """Read a grouping reply; put each name in its listed category, or else the category
    whose name or members share the most words with it, or else ``"other"``."""
    try:
        parsed = decode_json_action(reply)
    except ValueError:
        parsed = {}
    groups: dict[str, list[str]] = {}
    if isinstance(parsed, Mapping):
        for category, members in parsed.items():
            name = _clean_name(str(category))
            if name and isinstance(members, list):
                groups.setdefault(name, []).extend(_clean_name(str(m)) for m in members)
    placed: dict[str, list[str]] = {c: [] for c in groups}
    for name in names:
        listed = [c for c, members in groups.items() if name in members]
        if listed:
            placed[listed[0]].append(name)
            continue
        overlap = {
            c: len(_words(name) & (_words(c) | {w for m in groups[c] for w in _words(m)}))
            for c in groups
        }
        best = max(overlap, key=lambda c: overlap[c], default=None)
        if best is not None and overlap[best] > 0:
            placed[best].append(name)
        else:
            placed.setdefault(OTHER, []).append(name)
    return {c: ns for c, ns in placed.items() if ns}


class DiscoveredSkills(Domain):
    """A domain whose skill labels are the discovered categories of its evaluation items.

    Every hook but the skill labels (grading, what the student sees and trains on, example
    checks, verification, observation fields) is the wrapped domain's. Generating data for
    a category draws from the gold skills of that category's validation items, in
    proportion, so the procedural teachers still work.
    """

    def __init__(self, base: Domain, assignment: Mapping[str, str]) -> None:
        self.base = base
        self.name = f"{base.name}+discovered"
        self.max_new_tokens = base.max_new_tokens
        self.has_images, self.example_hint = base.has_images, base.example_hint
        self.verification_failure = base.verification_failure
        self.assignment = dict(assignment)
        self._skills = tuple(dict.fromkeys(self.assignment.values()))
        gold: dict[str, dict[str, int]] = {}
        for item in base.load_split("validation"):
            if item.id in self.assignment:
                counts = gold.setdefault(self.assignment[item.id], {})
                counts[item.skill] = counts.get(item.skill, 0) + 1
        self._gold_mix = gold

    def relabel(self, items: Sequence[TaskItem]) -> list[TaskItem]:
        """``items`` with their discovered skill (``"other"`` when not discovered)."""
        return [replace(i, skill=self.assignment.get(i.id, OTHER)) for i in items]

    @cached_property
    def held_out_keys(self) -> frozenset[str]:
        return self.base.held_out_keys

    @cached_property
    def held_out_index(self) -> NearDuplicateIndex:
        return self.base.held_out_index

    def near_duplicate_scope(self, image: str | None) -> str:
        return self.base.near_duplicate_scope(image)

    @property
    def skills(self) -> tuple[str, ...]:
        return self._skills

    def load_split(self, split: str) -> list[TaskItem]:
        return self.relabel(self.base.load_split(split))

    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        return self.base.is_correct(prediction, item)

    def grade(self, predictions: Sequence[str], items: Sequence[TaskItem]) -> list[bool]:
        return self.base.grade(predictions, items)

    def student_input(self, item: TaskItem) -> Any:
        return self.base.student_input(item)

    def report(self, graded: Sequence[Graded]) -> dict[str, float]:
        return self.base.report(graded)

    def training_pair(self, example: Example) -> Any:
        return self.base.training_pair(example)

    def as_task_item(self, example: Example) -> TaskItem:
        return self.base.as_task_item(example)

    def item_key(self, item: TaskItem) -> str:
        return self.base.item_key(item)

    def example_key(self, example: Example) -> str:
        return self.base.example_key(example)

    def make_student(self, spec: str, finetune: str, train_config: Any, seed: int) -> Any:
        return self.base.make_student(spec, finetune, train_config, seed)

    def observation_spaces(self, max_errors: int) -> dict[str, Any]:
        return self.base.observation_spaces(max_errors)

    def observation_fields(self, shown: Sequence[Graded], max_errors: int) -> dict[str, Any]:
        return self.base.observation_fields(shown, max_errors)

    def verify(self, example: Example) -> bool | None:
        return self.base.verify(example)

    def check_example(self, example: Example) -> str | None:
        return self.base.check_example(replace(example, skill=None)) or (
            f"unknown skill {example.skill!r}"
            if example.skill is not None and example.skill not in self.skills
            else None
        )

    def describe_skill(self, skill: str) -> str:
        mix = ", ".join(self._gold_mix.get(skill, {})) or "discovered"
        return f"{skill} (discovered; covers {mix})"

    @property
    def has_generator(self) -> bool:
        return self.base.has_generator

    def generate(self, skill: str, count: int, rng: np.random.Generator) -> list[Example]:
        mix = self._gold_mix.get(skill)
        if not mix:
            raise ValueError(f"no validation items were assigned to the skill {skill!r}")
        golds = list(mix)
        picks = rng.choice(
            len(golds), size=count, p=np.array(list(mix.values())) / sum(mix.values())
        )
        out: list[Example] = []
        for g, n in zip(golds, np.bincount(picks, minlength=len(golds)), strict=True):
            if n:
                out += [replace(e, skill=skill) for e in self.base.generate(g, int(n), rng)]
        return out


def discover_skills(
    domain: Domain,
    llm: Any = "embedded",
    items: Sequence[TaskItem] | None = None,
    cache_dir: str | Path | None = None,
    **kwargs: Any,
) -> DiscoveredSkills:
    """``domain`` relabeled with LLM-discovered skills of ``items`` (default: both of its
    evaluation splits; an env passes just the items it evaluates on)."""
    if items is None:
        items = [i for s in ("validation", "test") for i in domain.load_split(s)]
    found = LLMSkillDiscovery(llm, cache_dir=cache_dir, **kwargs).discover(items)
    return DiscoveredSkills(domain, found.assignment)
