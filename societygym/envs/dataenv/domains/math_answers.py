"""Final-answer extraction and equivalence for math answers.

Two separate questions decide whether a reply is right:

1. **Formatting leniency** (the same for every skill, and the only place it is defined):
   the final answer is the last ``\\boxed{}``, else what follows "answer is"/"answer:",
   else the first line; then case, spaces, ``$``/quote/``*`` wrappers, ``\\text{}``,
   thousands separators (``1,000``) and a trailing period are ignored. A source scorer
   that is stricter about these (reasoning-gym's exact string match) disagrees with us
   only here, and ``tests/test_dataenv_grader_agreement.py`` checks that nothing else differs.
2. **Answer form** (declared per skill, ``ANSWER_FORMS``), what the skill asks for:

   - ``value``: any equal number or expression (``0.5`` = ``1/2`` = ``\\frac{1}{2}``,
     ``2x+1`` = ``1+2*x`` via sympy); for tasks whose answer is just a quantity;
   - ``integer``: a whole number written as one (``5``, not ``5.0`` or ``10/2``);
   - ``decimal``: a number in decimal notation (``5``, ``5.0``, ``-05``; not ``10/2``);
   - ``fraction``: a fraction in lowest terms written ``a/b`` (``5/11``, not ``10/22``
     or ``0.4545``): when reducing is the skill, an unreduced answer is wrong;
   - ``weekday``: the full weekday name (``Sunday``, not ``Sun`` or another day);
   - ``word``: the same word or phrase (``odd``).
"""

from __future__ import annotations

import re
from fractions import Fraction
from math import gcd

FORMS = ("value", "integer", "decimal", "fraction", "weekday", "word")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_ANSWER_IS = re.compile(r"answer(?: is)?\s*[:=]?\s*(.+)", re.IGNORECASE)
_FRAC = re.compile(r"\\d?frac\{([^{}]+)\}\{([^{}]+)\}")
_INTEGER = re.compile(r"^[+-]?\d+$")
_FRACTION = re.compile(r"^([+-]?\d+)/(\d+)$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
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


def _value_equal(got: str, want: str) -> bool:
    got_num, want_num = _as_number(got), _as_number(want)
    if got_num is not None and want_num is not None:
        return got_num == want_num
    return _sympy_equal(got, want)


def _reduced_fraction(text: str) -> Fraction | None:
    """The value of ``a/b`` written in lowest terms (b > 0), else None."""
    match = _FRACTION.match(text)
    if match is None:
        return None
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if denominator == 0 or gcd(numerator, denominator) != 1:
        return None
    return Fraction(numerator, denominator)


def infer_form(gold: str) -> str:
    """The form a gold answer is written in, for items of no declared skill (teacher
    examples, LLM-discovered skill labels)."""
    text = normalize(gold)
    if _INTEGER.match(text):
        return "integer"
    if _reduced_fraction(text) is not None:
        return "fraction"
    if text in WEEKDAYS:
        return "weekday"
    return "value"


def answers_match(prediction: str, gold: str, form: str = "value") -> bool:
    """Whether a reply's final answer is ``gold`` in answer form ``form`` (``ANSWER_FORMS``),
    up to the formatting leniency of ``extract_final_answer`` and ``normalize``."""
    if form not in FORMS:
        raise ValueError(f"unknown answer form {form!r}; expected one of {FORMS}")
    got, want = normalize(extract_final_answer(prediction)), normalize(gold)
    if not got:
        return False
    if form == "integer":
        return bool(_INTEGER.match(got)) and _as_number(got) == _as_number(want)
    if form == "decimal":
        return bool(_DECIMAL.match(got)) and _as_number(got) == _as_number(want)
    if form == "fraction":
        value = _reduced_fraction(got)
        return value is not None and value == _as_number(want)
    if form in ("weekday", "word"):
        return got == want
    return got == want or _value_equal(got, want)
