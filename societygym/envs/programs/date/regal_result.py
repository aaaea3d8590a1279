"""Which value of a program is its answer: ours (``answer``), else ReGAL's executor's rule.

ReGAL (``tree/node.py::PythonNode.wrap_program``) reads a Date program's result after the whole
program ran, from its last top-level statement: ``print(X)`` gives the value of ``X``
(re-evaluated), ``name = ...`` gives ``name``; any other last statement gives no result. The
value must survive ``json.dump`` and, to be correct, equal the gold ``MM/DD/YYYY`` string
(Faithful-CoT's ``is_correct`` is string equality).

The env keeps its own convention first: a program that sets ``answer`` is judged by it. Only a
program that does not is judged by ReGAL's rule. Both are read by one epilogue appended to the
program, so the program runs once.
"""

from __future__ import annotations

import ast

RESULT_NAME = "_judged_answer"
OWN_NAME = "answer"


def regal_result_expression(program: str) -> str | None:
    """The expression ReGAL reads as the program's result, or None (no such last statement)."""
    try:
        body = ast.parse(program).body
    except SyntaxError:
        return None
    if not body:
        return None
    last = body[-1]
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        call = last.value
        if isinstance(call.func, ast.Name) and call.func.id == "print" and call.args:
            return ast.unparse(call.args[0])
        return None
    if isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name):
        return last.targets[0].id
    return None


def with_epilogue(program: str) -> str:
    """The program followed by code that stores its answer in ``RESULT_NAME``: ``answer`` if
    the program set it, else ReGAL's result (a NameError if there is neither)."""
    fallback = regal_result_expression(program)
    otherwise = f"({fallback})" if fallback is not None else OWN_NAME
    return (
        f"{program}\n\n"
        f"try:\n    {RESULT_NAME} = {OWN_NAME}\n"
        f"except NameError:\n    {RESULT_NAME} = {otherwise}\n"
    )
