"""What ReGAL asks the LLM (refactor a batch, edit a helper, solve a task) and how the replies
are read. Parsing is forgiving about layout (markdown headings, bold, missing fences, a reply
cut off mid-block) and strict about content: whatever is unclear is reported, never guessed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from societygym.baselines.regal.domains import Domain, Example
from societygym.envs.programs.codebank import Helper, TestCase

FENCE = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
HEADING = re.compile(
    r"^[ \t>#*_-]*new[ \t]+(?:(?P<helpers>helpers?|functions?)|program[ \t#]*(?P<index>\d+))"
    r"\b[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
PYTHON_TAGS = re.compile(r"\[/?PYTHON\]", re.IGNORECASE)


def _fenced(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def helper_listing(helpers: Sequence[Helper], show_success: bool = True) -> str:
    """Helpers as one code block, each with its test record when ``show_success``."""
    blocks = [
        (f"# passed {h.passes}/{h.uses} test programs\n" if show_success else "") + h.source
        for h in helpers
    ]
    return _fenced("\n\n\n".join(blocks))


REFACTOR = """\
You maintain a library of helper functions for {description}.

What programs may use:
{api}
{library}
Here are {count} programs, each solving its query. Find what they have in common and move it
into new helper functions: general (parameters instead of fixed numbers), short, each with a
docstring. Then rewrite every program to call the helpers. A rewritten program must produce
exactly the same result as the original. Helpers must not print; a helper is a function
definition, optionally preceded by the imports it needs.

{tasks}

Answer in exactly this format, one block per heading:
NEW HELPERS:
```python
(the new helper functions)
```
{answers}"""

LIBRARY = """
The library already has these helpers; call them where they fit, do not define them again:
{listing}
"""


def refactor_prompt(domain: Domain, batch: Sequence[Example], helpers: Sequence[Helper]) -> str:
    tasks = "\n\n".join(
        f"QUERY {i}: {example.query}\nPROGRAM {i}:\n{_fenced(example.program)}"
        for i, example in enumerate(batch, 1)
    )
    answers = "\n".join(
        f"NEW PROGRAM {i}:\n```python\n(program {i} rewritten)\n```"
        for i in range(1, len(batch) + 1)
    )
    library = LIBRARY.format(listing=helper_listing(helpers, False)) if helpers else ""
    return REFACTOR.format(
        description=domain.description,
        api=domain.api,
        library=library,
        count=len(batch),
        tasks=tasks,
        answers=answers,
    )


EDIT = """\
A library of helper functions for {description} has a helper that works in some programs and
fails in others.

What programs may use:
{api}

The helper, `{name}`:
{source}
{passing}
Programs where it fails:
{failing}

Rewrite `{name}` so that all these programs work, keeping its name and parameters. Reply with
the new definition only, in one ```python block."""


def edit_prompt(
    domain: Domain, helper: Helper, passing: Sequence[TestCase], failing: Sequence[TestCase]
) -> str:
    def shown(test: TestCase) -> str:
        why = f"\nWhat went wrong: {test.message}" if test.message else ""
        return f"Query: {test.query}\n{_fenced(test.program)}{why}"

    works = "\n\n".join(shown(t) for t in passing)
    return EDIT.format(
        description=domain.description,
        api=domain.api,
        name=helper.name,
        source=_fenced(helper.source),
        passing=f"\nPrograms where it works:\n{works}\n" if passing else "",
        failing="\n\n".join(shown(t) for t in failing),
    )


SOLVE = """\
{demos}{helpers}Now solve this task.

{task}

Reply with the complete program in one ```python block."""


def solve_prompt(
    observation_text: str,
    demos: Sequence[tuple[str, str]],
    helpers: Sequence[Helper],
    show_success: bool = True,
) -> str:
    """The test-time prompt: demonstrations (query, program), helpers, then the env's text."""
    shown = "\n\n".join(f"Query: {query}\n{_fenced(program)}" for query, program in demos)
    demo_text = f"Solved examples of similar tasks:\n\n{shown}\n\n" if demos else ""
    helper_text = (
        "These helper functions are already defined; call them rather than copying their "
        f"code:\n{helper_listing(helpers, show_success)}\n\n"
        if helpers
        else ""
    )
    return SOLVE.format(demos=demo_text, helpers=helper_text, task=observation_text)


# --- reading replies ---------------------------------------------------------------------


def _blocks(text: str) -> list[str]:
    """The fenced code blocks of a reply (a fence left open at the end counts; Llama-style
    ``[PYTHON]`` tags count as fences), the ``python`` ones only if there are any."""
    if "```" not in text:
        text = PYTHON_TAGS.sub("```", text)
    blocks = FENCE.findall(text)
    python = [code.strip() for language, code in blocks if language.lower() in ("python", "py")]
    return python or [code.strip() for _, code in blocks]


def code_of(text: str) -> str:
    """The code in a piece of a reply: its blocks joined, or the whole text if it has none."""
    blocks = _blocks(text)
    return "\n\n".join(blocks) if blocks else text.strip()


def extract_program(reply: str) -> str:
    """The program in an agent's reply: its first code block, or the whole reply."""
    blocks = _blocks(reply)
    return blocks[0] if blocks else reply.strip()


@dataclass
class Refactor:
    """A parsed refactoring reply: helper sources, rewritten programs by 1-based index."""

    helpers: list[str] = field(default_factory=list)
    programs: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def split_functions(code: str) -> tuple[list[str], list[str]]:
    """Each top-level function of ``code`` as a helper source with the imports it uses;
    and the problems found (other statements are dropped: a helper is a function)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return [], [f"the helpers do not parse: {error.msg} (line {error.lineno})"]
    lines = code.splitlines()
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    sources, problems = [], []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            needed = [
                ast.get_source_segment(code, imp)
                for imp in imports
                if {(a.asname or a.name).partition(".")[0] for a in imp.names} & used
            ]
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            function = "\n".join(lines[first - 1 : node.end_lineno])
            sources.append("\n".join([*filter(None, needed), function]))
        elif not isinstance(node, ast.Import | ast.ImportFrom) and not _is_docstring(node):
            statement = lines[node.lineno - 1].strip()[:60]
            problems.append(f"dropped `{statement}` from the helpers: only functions are kept")
    return sources, problems


def parse_refactor(reply: str, count: int) -> Refactor:
    """Read ``NEW HELPERS`` and ``NEW PROGRAM i`` sections (i = 1..count) from a reply."""
    result = Refactor()
    headings = list(HEADING.finditer(reply))
    if not headings:
        result.problems.append("the reply has no NEW HELPERS / NEW PROGRAM sections")
        return result
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        body = reply[heading.end() : following.start() if following else len(reply)]
        code = code_of(body)
        if heading.group("helpers"):
            if code:
                sources, problems = split_functions(code)
                result.helpers += sources
                result.problems += problems
            continue
        index = int(heading.group("index"))
        if not 1 <= index <= count:
            result.problems.append(f"ignored NEW PROGRAM {index}: there are {count} programs")
        elif index in result.programs:
            result.problems.append(f"ignored a second NEW PROGRAM {index}")
        elif code:
            result.programs[index] = code
    return result
