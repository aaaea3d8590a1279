"""Static checks on program text: reject attribute walks that lead out of the sandbox.

Classic escapes walk from any object to the interpreter internals through dunder
attributes (``().__class__.__base__.__subclasses__()``, ``f.__globals__``,
``len.__self__``) or frame/code objects (``gi_frame.f_back.f_globals``). Rejecting
those names in the source closes the walk before anything runs; the safe
``getattr`` family in the namespace applies the same rule to names built at run time.
"""

from __future__ import annotations

import ast
import re

from societygym.sandbox.errors import ForbiddenCode

# Dunder attributes that only reach the object's own behaviour (never globals,
# bases, frames or modules), so ordinary class code can use them. ``__class__`` is
# left out on purpose: it starts the classic walk (use ``type(x)`` instead).
SAFE_DUNDER_ATTRIBUTES = frozenset(
    """
        __init__ __new__ __post_init__ __name__ __qualname__ __doc__ __module__ __len__
        __iter__ __next__ __reversed__ __contains__ __getitem__ __setitem__ __delitem__
        __missing__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __bool__ __str__
        __repr__ __format__ __call__ __enter__ __exit__ __copy__ __deepcopy__ __add__
        __sub__ __mul__ __matmul__ __truediv__ __floordiv__ __mod__ __divmod__ __pow__
        __lshift__ __rshift__ __and__ __or__ __xor__ __radd__ __rsub__ __rmul__
        __rtruediv__ __rfloordiv__ __rmod__ __rpow__ __iadd__ __isub__ __imul__ __neg__
        __pos__ __abs__ __invert__ __int__ __float__ __complex__ __index__ __round__
        __trunc__ __floor__ __ceil__
        """.split()  # noqa: SIM905 - a word list
)

# Public (non-underscore) attributes of frames, generators, coroutines and
# tracebacks that lead to frames and therefore to other modules' globals.
FRAME_ATTRIBUTES = frozenset(
    """
        f_back f_builtins f_code f_globals f_locals f_trace gi_code gi_frame
        gi_yieldfrom cr_await cr_code cr_frame cr_origin ag_await ag_code ag_frame
        tb_frame tb_next
        """.split()  # noqa: SIM905 - a word list
)

# Names that would expose the real import machinery or builtins if they resolved.
DENIED_NAMES = frozenset(
    ("__builtins__", "__import__", "__build_class__", "__loader__", "__spec__")
)

# The escape-critical subset, also scanned for by the audit hook in source and code
# objects compiled at run time (e.g. strings evaluated by library code).
BACKSTOP_NAMES = frozenset(
    """
        __subclasses__ __globals__ __builtins__ __base__ __bases__ __mro__ __self__
        __func__ __closure__ __getattribute__ __reduce__ __reduce_ex__ __loader__
        __spec__ __import__ __traceback__ __objclass__ __wrapped__ f_globals f_locals
        f_builtins f_back gi_frame cr_frame ag_frame tb_frame
        """.split()  # noqa: SIM905 - a word list
)
BACKSTOP_PATTERN = re.compile(rb"\b(?:" + rb"|".join(n.encode() for n in BACKSTOP_NAMES) + rb")\b")


def is_forbidden_attribute(name: str) -> bool:
    """True for dunder attributes outside the safe set and for frame/code attributes."""
    dunder = name.startswith("__") and name.endswith("__")
    return (dunder and name not in SAFE_DUNDER_ATTRIBUTES) or name in FRAME_ATTRIBUTES


def _offences(tree: ast.AST) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and is_forbidden_attribute(node.attr):
            found.append((node.attr, line))
        elif isinstance(node, ast.Name) and node.id in DENIED_NAMES:
            found.append((node.id, line))
        elif isinstance(node, ast.MatchClass):  # `case C(attr=x)` reads attributes
            found.extend((a, line) for a in node.kwd_attrs if is_forbidden_attribute(a))
        elif isinstance(node, ast.ImportFrom):
            found.extend((a.name, line) for a in node.names if is_forbidden_attribute(a.name))
    return found


def check_source(source: str, mode: str = "exec", filename: str = "<program>") -> ast.AST:
    """Parse ``source`` and reject forbidden names; raises SyntaxError or ForbiddenCode."""
    tree = ast.parse(source, filename=filename, mode=mode)
    offences = _offences(tree)
    if offences:
        raise ForbiddenCode(sorted(set(offences), key=lambda o: (o[1], o[0])))
    return tree
