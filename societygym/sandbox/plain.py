"""Plain data across the process boundary.

Rule: a run's value, stdout and stderr may only contain None, bool, int, float,
complex, str, bytes, list, tuple, dict, set, frozenset (exact types, not subclasses)
and numpy arrays / scalars of numeric, bool or string dtype. The worker copies the
value into fresh objects of exactly those types (`to_plain`, which never calls
program-defined methods), and the parent decodes with an unpickler that resolves no
globals except numpy's array reconstructors. So an object with a malicious
``__reduce__`` can neither reach the parent nor make it execute code even if a
compromised worker sends crafted bytes.
"""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any

_SCALARS = frozenset({type(None), bool, int, float, complex, str, bytes})
_NUMPY_KINDS = frozenset("biufcSU")  # no object or structured dtypes
_MAX_DEPTH = 200

# (module, name) pairs the parent's unpickler may resolve: numpy array rebuilding
# (numpy 1.x and 2.x module paths) and complex numbers.
_ALLOWED_GLOBALS = frozenset(
    {
        ("builtins", "complex"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }
)


class NotPlainData(TypeError):
    """The value contains something other than plain data."""


def to_plain(value: Any, _depth: int = 0) -> Any:
    """Return a copy of ``value`` built only from plain types, or raise NotPlainData."""
    if _depth > _MAX_DEPTH:
        raise NotPlainData(f"value is nested deeper than {_MAX_DEPTH} levels")
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple:
        return kind(to_plain(v, _depth + 1) for v in value)
    if kind is set or kind is frozenset:
        return kind(to_plain(v, _depth + 1) for v in value)
    if kind is dict:
        return {to_plain(k, _depth + 1): to_plain(v, _depth + 1) for k, v in value.items()}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if kind is numpy.ndarray and value.dtype.kind in _NUMPY_KINDS:
            return value.copy()
        # issubclass on the exact type: isinstance could run a program-defined __class__
        if issubclass(kind, numpy.generic) and value.dtype.kind in _NUMPY_KINDS:
            return value.item()
    raise NotPlainData(
        f"value of type {kind.__name__!r} is not plain data; return None, bool, int, float, "
        "complex, str, bytes, list, tuple, dict, set, frozenset or a numpy array"
    )


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in sandbox data")
        return super().find_class(module, name)


def loads(data: bytes) -> Any:
    """Decode bytes from an untrusted process; only plain data can come out."""
    return _PlainUnpickler(io.BytesIO(data)).load()
