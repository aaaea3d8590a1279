"""Turning a teacher's action into training examples, with a reason for every rejection.

A data action is a list of examples, each a mapping with ``instruction`` and ``response``
(optionally ``skill``, and ``image`` in an image domain), or the same list as JSON text
(an LLM's output; a JSON object with an ``examples`` list, and text around the JSON, are
accepted too). Nothing is dropped silently: every example is either accepted or listed in
``rejected`` with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from societygym.envs.dataenv.domain import Domain
from societygym.envs.dataenv.records import Example

FIELDS = ("instruction", "response", "skill", "image")


@dataclass
class Parsed:
    """The examples of one action: accepted ones, and (index, reason) for the rest."""

    accepted: list[Example] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the action as a whole could not be read

    def reject(self, index: int, reason: str, item: Any = None) -> None:
        preview = json.dumps(item, default=str, ensure_ascii=False)[:200] if item else ""
        self.rejected.append({"index": index, "reason": reason, "example": preview})


def decode_json_action(text: str) -> Any:
    """The JSON value in ``text``: the whole text, else the outermost ``[...]`` or ``{...}``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for open_, close in (("[", "]"), ("{", "}")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON list of examples found in the text")


def as_items(action: Any, max_text_length: int) -> list[Any]:
    """The raw example list of a data action; TypeError/ValueError name what was wrong."""
    if isinstance(action, str):
        if len(action) > max_text_length:
            raise ValueError(f"action text of {len(action)} characters exceeds {max_text_length}")
        action = decode_json_action(action)
        if isinstance(action, Mapping) and isinstance(action.get("examples"), list):
            action = action["examples"]
        if not isinstance(action, list):
            raise ValueError("the JSON must be a list of examples (or {'examples': [...]})")
        return action
    if isinstance(action, Sequence) and not isinstance(action, (bytes, bytearray)):
        return list(action)
    raise TypeError(
        "a data action is a list of {instruction, response[, skill]} mappings or JSON text; "
        f"got {type(action).__name__}"
    )


def to_example(item: Any) -> Example | str:
    """An ``Example``, or why ``item`` is not one."""
    if isinstance(item, Example):
        return item
    if not isinstance(item, Mapping):
        return f"an example must be a mapping, got {type(item).__name__}"
    extra = set(item) - set(FIELDS)
    if extra:
        return f"unknown fields {sorted(map(str, extra))}; allowed: {', '.join(FIELDS)}"
    for name in ("instruction", "response"):
        if not isinstance(item.get(name), str):
            return f"{name!r} must be a string"
    for name in ("skill", "image"):
        if item.get(name) is not None and not isinstance(item.get(name), str):
            return f"{name!r} must be a string or absent"
    return Example(item["instruction"], item["response"], item.get("skill"), item.get("image"))


def parse_examples(
    items: Sequence[Any], domain: Domain, budget: int, allow_skill: bool = True
) -> Parsed:
    """Validate items against the domain's rules, the held-out splits (exact copies and
    near-duplicates) and the example budget."""
    parsed = Parsed()
    held_out = domain.held_out_keys
    for index, item in enumerate(items):
        example = to_example(item)
        if isinstance(example, str):
            parsed.reject(index, example, item)
            continue
        if not allow_skill and example.skill is not None:
            example = Example(example.instruction, example.response, image=example.image)
        reason = domain.check_example(example)
        if reason is None and domain.example_key(example) in held_out:
            reason = "the question is in a held-out evaluation split"
        if reason is None and (match := domain.near_duplicate(example)) is not None:
            reason = match.reason()
        if reason is None and len(parsed.accepted) >= budget:
            reason = "over the example budget"
        if reason:
            parsed.reject(index, reason, example.to_dict())
        else:
            parsed.accepted.append(example)
    return parsed
