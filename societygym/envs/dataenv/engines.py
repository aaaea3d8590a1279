"""Data-generation engines: turn "n examples of this (sub)skill" into training examples.

``ProceduralEngine`` asks the domain's own generator (answers correct by construction).
``LLMEngine`` has a teacher LLM (any backend) write problems and answers; every answer the
domain can check is checked, failures are dropped, and the verification pass rate is
reported so the env can put it in ``info``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from societygym.envs.dataenv.actions import decode_json_action, to_example
from societygym.envs.dataenv.domain import Domain
from societygym.envs.dataenv.records import Example


@dataclass
class Generated:
    """One engine call's output and its verification counts."""

    examples: list[Example] = field(default_factory=list)
    proposed: int = 0  # examples the engine produced before verification
    verified: int = 0
    failed: int = 0  # checked and wrong (dropped)
    unverifiable: int = 0

    def merge(self, other: Generated) -> None:
        self.examples += other.examples
        self.proposed += other.proposed
        self.verified += other.verified
        self.failed += other.failed
        self.unverifiable += other.unverifiable

    def stats(self) -> dict[str, Any]:
        checked = self.verified + self.failed
        return {
            "proposed": self.proposed,
            "kept": len(self.examples),
            "verified": self.verified,
            "failed": self.failed,
            "unverifiable": self.unverifiable,
            "pass_rate": self.verified / checked if checked else None,
        }


class ProceduralEngine:
    """The domain's generator; ``subskill`` only labels the request."""

    name = "procedural"

    def generate(
        self, domain: Domain, skill: str, subskill: str | None, count: int, rng: np.random.Generator
    ) -> Generated:
        examples = domain.generate(skill, count, rng)
        return Generated(examples, proposed=len(examples), unverifiable=len(examples))


ENGINE_PROMPT = """Write {count} new practice problems for a student model.
Skill: {skill} ({description}).{subskill}
Each problem needs a short, exactly correct final answer.
Reply with only a JSON list: [{{"instruction": "<problem>", "response": "<answer>"}}, ...]"""


class LLMEngine:
    """A teacher LLM writes the problems; answers are checked where the domain can."""

    name = "llm"

    def __init__(
        self,
        llm: Any = "embedded",
        per_call: int = 10,
        max_tokens: int = 768,
        temperature: float = 0.7,
        keep_unverifiable: bool = True,
    ) -> None:
        from societygym.llm.lazy import LazyLLM

        # a spec string is loaded when the first data is generated, not when the env is made
        self.llm = LazyLLM(llm) if isinstance(llm, str) else llm
        self.per_call = int(per_call)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.keep_unverifiable = keep_unverifiable

    def prompt(self, domain: Domain, skill: str, subskill: str | None, count: int) -> str:
        return ENGINE_PROMPT.format(
            count=count,
            skill=skill,
            description=domain.describe_skill(skill),
            subskill=f"\nFocus on this sub-skill: {subskill}." if subskill else "",
        )

    def generate(
        self, domain: Domain, skill: str, subskill: str | None, count: int, rng: np.random.Generator
    ) -> Generated:
        calls = -(-count // self.per_call)
        sizes = [min(self.per_call, count - i * self.per_call) for i in range(calls)]
        prompts = [
            [{"role": "user", "content": self.prompt(domain, skill, subskill, n)}] for n in sizes
        ]
        replies = self.llm.generate(
            prompts,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=int(rng.integers(2**31)),
        )
        out = Generated()
        for gens in replies:
            out.merge(self._check(domain, skill, gens[0].text))
        out.examples = out.examples[:count]
        return out

    def _check(self, domain: Domain, skill: str, text: str) -> Generated:
        out = Generated()
        try:
            items = decode_json_action(text)
        except ValueError:
            return out
        if isinstance(items, Mapping):
            items = items.get("examples", [])
        for item in items if isinstance(items, list) else []:
            example = to_example(item)
            if isinstance(example, str):
                continue
            example = Example(example.instruction, example.response, skill)
            out.proposed += 1
            verdict = domain.verify(example)
            if verdict is False:
                out.failed += 1
                continue
            if verdict is None:
                out.unverifiable += 1
                if not self.keep_unverifiable:
                    continue
            else:
                out.verified += 1
            out.examples.append(example)
        return out


def make_engine(spec: Any = "procedural") -> Any:
    """``"procedural"``, ``"llm"`` (embedded model), ``"llm:<llm spec>"`` or an engine object."""
    from societygym.specs import resolve

    return resolve(spec, "engine", {"procedural": ProceduralEngine}, LLMEngine)
