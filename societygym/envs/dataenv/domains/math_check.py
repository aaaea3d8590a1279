"""Checking teacher-written math examples where the question itself says what the answer is.

An LLM teacher's answers are not trusted: when a question contains a plain arithmetic
expression ("What is 17 * 4?"), or is one of the recognizable forms below, the expected
answer is recomputed exactly and compared. Anything else is unverifiable (None).
"""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction

from societygym.envs.dataenv.domains.math_answers import answers_match

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_EXPRESSION = re.compile(r"[-(]?\d[\d\s.()+\-*/×÷x]*\d\)?")
_PARITY = re.compile(r"is (\d+) (?:an? )?(?:even|odd)", re.IGNORECASE)
_LARGER = re.compile(r"larger,? (-?\d+) or (-?\d+)", re.IGNORECASE)


def _evaluate(node: ast.AST) -> Fraction:
    """Exact value of an arithmetic syntax tree of numbers and + - * /."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("not plain arithmetic")


def arithmetic_value(question: str) -> Fraction | None:
    """The value of the longest arithmetic expression with an operator in ``question``."""
    candidates = sorted(_EXPRESSION.findall(question), key=len, reverse=True)
    for raw in candidates:
        text = raw.replace("×", "*").replace("÷", "/").replace("x", "*").strip()
        if not re.search(r"\d\s*[-+*/]\s*[-(]?\d", text) or len(text) > 80:
            continue
        try:
            return _evaluate(ast.parse(text, mode="eval"))
        except (SyntaxError, ValueError, ZeroDivisionError):
            continue
    return None


def expected_answer(question: str) -> str | None:
    """The answer a recognizable question must have, or None if it is not recognizable."""
    if match := _PARITY.search(question):
        return "odd" if int(match.group(1)) % 2 else "even"
    if match := _LARGER.search(question):
        return str(max(int(match.group(1)), int(match.group(2))))
    value = arithmetic_value(question)
    if value is None:
        return None
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def verify_math(question: str, response: str) -> bool | None:
    expected = expected_answer(question)
    return None if expected is None else answers_match(response, expected)
