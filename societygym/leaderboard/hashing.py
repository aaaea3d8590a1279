"""Canonical JSON and content hashes: the one definition every spec, suite and bundle uses.

A hash is only meaningful if every writer serializes the same value to the same bytes, so
keys are sorted, separators fixed, and non-finite floats refused (they have no JSON form).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PREFIX = "sha256:"


def canonical_json(value: Any) -> str:
    """The one byte-stable JSON text of ``value``."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def content_hash(value: Any) -> str:
    """``"sha256:<hex>"`` of the canonical JSON of ``value``."""
    return PREFIX + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def stable_int(text: str, bits: int = 31) -> int:
    """A seed derived from text, identical in every process (unlike ``hash()``)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (2**bits)
