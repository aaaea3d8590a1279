"""ReGAL's test-time agent, and the primitives-only agent it is compared with.

For each task the agent retrieves (BM25 on the query, or sentence embeddings) demonstrations
from the domain's training split: a share ``demo_split`` of refactored programs from the code
bank's demo bank, the rest original programs; it shows the most relevant helpers with their
test record, then the env's observation. The program it returns starts with the source of the
bank helpers it calls, so it runs in any ReGAL env, whether or not the env was given the bank::

    societygym run ReGAL-Date-v0 --agent regal \\
        --agent-arg codebank=out/codebank.json --agent-arg llm=embedded

A folder of banks, one ``<domain>/codebank.json`` each (``train --out banks/date`` and so on),
serves a suite of several domains with one agent spec: ``--agent-arg codebank=banks``;
``codebank=shipped`` names the banks shipped in the package (``banks/``, see its README), so
an agent spec that uses them is reproducible from any checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

from gymnasium import spaces

from societygym.agents.llm_agent import LLMAgent, observation_text
from societygym.baselines.regal.bm25 import BM25
from societygym.baselines.regal.domains import Domain, Example, get_domain
from societygym.baselines.regal.prompts import extract_program, solve_prompt
from societygym.baselines.regal.training import BANK_FILE, SHIPPED_BANKS_DIR, helper_document
from societygym.envs.programs.codebank import CodeBank, Helper, TestCase, closure
from societygym.llm.base import LLM, Prompt

RETRIEVERS = ("bm25", "embeddings")
BankSource: TypeAlias = CodeBank | str | Path
# one bank, or banks per domain: a mapping, or a folder of ``<domain>/codebank.json``
BankArgument: TypeAlias = BankSource | Mapping[str, BankSource] | None
# ``codebank="shipped"``: the banks learned for the board, kept in the package
# (``SHIPPED_BANKS_DIR``); a local folder of that name is written ``./shipped``
SHIPPED_BANKS = "shipped"


def domain_bank(banks: Mapping[str, BankSource] | str | Path, domain: str) -> CodeBank:
    """The bank for ``domain`` from a mapping or a folder of per-domain banks."""
    if isinstance(banks, Mapping):
        if domain not in banks:
            raise KeyError(f"no code bank for {domain}: the mapping has {sorted(banks)}")
        source = banks[domain]
    else:
        source = Path(banks) / domain / BANK_FILE
        if not source.is_file():
            raise FileNotFoundError(f"no code bank for {domain}: {source} does not exist")
    bank = source if isinstance(source, CodeBank) else CodeBank.load(source)
    if bank.domain and bank.domain != domain:
        raise ValueError(f"the code bank given for {domain} is for {bank.domain}")
    return bank


class ReGALAgent(LLMAgent):
    """Writes programs with retrieved demonstrations and code-bank helpers (ReGAL).

    ``codebank``: a bank, the path of a ``codebank.json``, or banks per domain (a mapping from
    domain to bank or path, or a folder of ``<domain>/codebank.json``: any path not ending in
    ``.json``), picked once the domain is known; ``domain``: ``logo``, ``date`` or
    ``textcraft`` (default: from the bank, else from the env the runner binds). ``demos``
    demonstrations in all (ReGAL's ``max_budget``), ``demo_split`` of them refactored;
    ``num_helpers`` retrieved helpers (ReGAL: 10 for GPT, 20 for Llama), shown with their
    pass counts when ``show_success``; ``min_usage`` > 0 prunes the bank strictly on loading
    (ReGAL's test-time ``--filter``). ``retriever``: ``"bm25"`` (default) or
    ``"embeddings"`` (sentence embeddings, ``embedding_model`` ``"minilm"`` or
    ``"hf:<folder>"``; see ``embeddings.py``). Other keywords go to :class:`LLMAgent`;
    generation stops at the first closing code fence unless ``stop`` says otherwise.
    """

    def __init__(
        self,
        llm: LLM | str = "embedded",
        codebank: BankArgument = None,
        domain: str | None = None,
        demos: int = 5,
        demo_split: float = 0.6,
        num_helpers: int = 10,
        show_success: bool = True,
        min_usage: int = 0,
        max_tokens: int = 512,
        retriever: str = "bm25",
        embedding_model: str = "minilm",
        **llm_kwargs: Any,
    ) -> None:
        if retriever not in RETRIEVERS:
            raise ValueError(f"retriever must be one of {RETRIEVERS}, got {retriever!r}")
        self.retriever, self.embedding_model = retriever, embedding_model
        # the reply is wanted up to the end of its code block: stop there, not at max_tokens
        llm_kwargs.setdefault("stop", ["\n```\n"])
        super().__init__(llm, max_tokens=max_tokens, **llm_kwargs)
        self.parser = self.complete_program
        self.min_usage = int(min_usage)
        self._banks: Mapping[str, BankSource] | Path | None = None  # banks per domain
        if codebank == SHIPPED_BANKS:
            self._banks = SHIPPED_BANKS_DIR
        elif isinstance(codebank, Mapping):
            self._banks = codebank
        elif isinstance(codebank, str | Path) and (
            Path(codebank).is_dir() or Path(codebank).suffix != ".json"
        ):  # a folder, existing or not: a missing bank is then named with its domain
            self._banks = Path(codebank)
        self._set_bank(None if self._banks is not None else codebank)
        if not 0.0 <= demo_split <= 1.0:
            raise ValueError("demo_split is a fraction in [0, 1]")
        self.demos, self.demo_split = int(demos), float(demo_split)
        self.num_helpers, self.show_success = int(num_helpers), show_success
        self.domain: Domain | None = None
        if domain or self.bank.domain:
            self._use_domain(get_domain(domain or self.bank.domain))

    def bind(self, env_id: str, action_space: spaces.Space, env_class: type | None) -> None:
        super().bind(env_id, action_space, env_class)
        if self.domain is None:
            self._use_domain(get_domain(env_id))
        elif get_domain(env_id).name != self.domain.name:
            raise ValueError(f"this agent writes {self.domain.name} programs, not {env_id}")

    def _set_bank(self, bank: BankSource | None) -> None:
        if isinstance(bank, str | Path):
            bank = CodeBank.load(bank)
        self.bank = bank if bank is not None else CodeBank()
        if self.min_usage > 0:
            self.bank.prune(min_usage=self.min_usage)

    def _use_domain(self, domain: Domain) -> None:
        if self._banks is not None:
            self._set_bank(domain_bank(self._banks, domain.name))
        if self.bank.domain and self.bank.domain != domain.name:
            raise ValueError(f"the code bank is for {self.bank.domain}, not {domain.name}")
        self.domain = domain
        self.primitive_demos: list[Example] = domain.examples("train")
        self._primitive_index = self._index([e.query for e in self.primitive_demos])
        self.refactored_demos: list[TestCase] = self.bank.demos()
        self._refactored_index = self._index([t.query for t in self.refactored_demos])
        self.helper_list: list[Helper] = list(self.bank)
        self._helper_index = self._index([helper_document(h) for h in self.helper_list])

    def _index(self, documents: list[str]) -> Any:
        if self.retriever == "bm25":
            return BM25(documents)
        from societygym.baselines.regal.embeddings import EmbeddingIndex

        return EmbeddingIndex(documents, self.embedding_model)

    def choose(self, query: str) -> tuple[list[tuple[str, str]], list[Helper]]:
        """The demonstrations (query, program) and the helpers to show for a query.

        The best refactored demonstration comes last, next to the task. Demonstrations of the
        same task (``Domain.task_key``) are left out, so a test task never sees itself.
        """
        assert self.domain is not None
        key = self.domain.task_key
        same = key(query)
        wanted = round(self.demos * self.demo_split) if self.helper_list else 0
        refactored = [
            self.refactored_demos[i]
            for i in self._refactored_index.top(
                query, wanted, skip=lambda i: key(self.refactored_demos[i].query) == same
            )
        ]
        taken = {t.task_id for t in refactored}
        primitive = [
            self.primitive_demos[i]
            for i in self._primitive_index.top(
                query,
                self.demos - len(refactored),
                skip=lambda i: (
                    key(self.primitive_demos[i].query) == same
                    or self.primitive_demos[i].id in taken
                ),
            )
        ]
        demos = [(t.query, t.program) for t in refactored] + [
            (e.query, e.program) for e in primitive
        ]
        names = {self.helper_list[i].name for i in self._helper_index.top(query, self.num_helpers)}
        for test in refactored:  # a demo's helpers are shown, or the demo makes no sense
            names.update(self.bank.calls(test.program))
        shown = set(closure(names, self.bank.sources()))
        return demos[::-1], [h for h in self.helper_list if h.name in shown]

    def render_prompt(self, observation: Any) -> Prompt:
        if self.domain is None:
            raise RuntimeError("pass domain=... or let the runner bind the agent to an env")
        text = observation_text(observation)
        demos, helpers = self.choose(self.domain.query_from(text))
        prompt = solve_prompt(text, demos, helpers, self.show_success)
        if not self.chat:
            return prompt
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, {"role": "user", "content": prompt}]

    def complete_program(self, reply: str) -> str:
        """The program in the reply, preceded by the bank helpers it calls."""
        program = extract_program(reply)
        return "\n\n".join([*self.bank.needed_by(program), program])


class PrimitiveAgent(ReGALAgent):
    """The baseline: the same agent with original programs as demonstrations and no helpers."""

    def __init__(self, llm: LLM | str = "embedded", **kwargs: Any) -> None:
        super().__init__(llm, codebank=None, **kwargs)
