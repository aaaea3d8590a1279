"""Final-answer extraction and equivalence for math answers.

A student's reply counts when its final answer equals the gold answer up to formatting:
case, spaces, ``$``/``\\boxed{}`` wrappers, thousands separators, trailing periods, and
numeric value (``0.5`` = ``1/2`` = ``\\frac{1}{2}``). Expressions that are not plain numbers
are compared with sympy when both sides parse (``2x+1`` = ``1+2*x``).
"""

from __future__ import annotations

import re
from fractions import Fraction

_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_ANSWER_IS = re.compile(r"answer(?: is)?\s*[:=]?\s*(.+)", re.IGNORECASE)
_FRAC = re.compile(r"\\d?frac\{([^{}]+)\}\{([^{}]+)\}")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(/\d+)?$")
# Text sympy may read: short, only identifiers, digits, operators and brackets.
_EXPRESSION = re.compile(r"^[\w+\-*/^().]{1,60}$")


def last_boxed(text: str) -> str | None:
    """The contents of the last ``\\boxed{}`` in ``text``, if any."""
    found = _BOXED.findall(text)
    return found[-1] if found else None


def extract_final_answer(text: str) -> str:
    """The answer part of a reply: the last ``\\boxed{}``, else what follows "answer is",
    else the first non-empty line."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    found = _ANSWER_IS.search(lines[-1]) or _ANSWER_IS.search(lines[0])
    return found.group(1) if found else lines[0]


def normalize(answer: str) -> str:
    """A canonical string form: no wrappers, spaces, separators or trailing punctuation."""
    text = answer.strip().strip("$\"'`*").strip()
    text = _FRAC.sub(r"(\1)/(\2)", text)
    text = text.replace("\\left", "").replace("\\right", "").replace("\\!", "")
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = text.replace("×", "*").replace("·", "*")
    text = "".join(text.split()).rstrip(".").strip("\"'`*").rstrip(".").lower()
    return re.sub(r"^\((-?\d+)\)/\((\d+)\)$", r"\1/\2", text)


def _as_number(text: str) -> Fraction | None:
    if not _NUMBER.match(text):
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def _sympy_equal(a: str, b: str) -> bool:
    """Symbolic equality when both sides parse; False on anything sympy cannot read.

    Plain numbers and plain words never get here: parsing is slow and they need no algebra.
    """
    if not (_EXPRESSION.match(a) and _EXPRESSION.match(b)) or b.isalpha() or _as_number(b):
        return False
    try:
        from sympy import simplify
        from sympy.parsing.sympy_parser import (
            implicit_multiplication_application,
            parse_expr,
            standard_transformations,
        )

        transforms = (*standard_transformations, implicit_multiplication_application)
        left = parse_expr(a.replace("^", "**"), transformations=transforms, evaluate=True)
        right = parse_expr(b.replace("^", "**"), transformations=transforms, evaluate=True)
        return bool(simplify(left - right) == 0)
    except Exception:  # sympy raises many kinds of errors on text it cannot read
        return False


def answers_match(prediction: str, gold: str) -> bool:
    """Whether a reply's final answer equals ``gold`` up to formatting and value."""
    got, want = normalize(extract_final_answer(prediction)), normalize(gold)
    if not got:
        return False
    if got == want:
        return True
    got_num, want_num = _as_number(got), _as_number(want)
    if got_num is not None and want_num is not None:
        return got_num == want_num
    return _sympy_equal(got, want)
