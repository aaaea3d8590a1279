"""LiveCodeBench (Jain et al. 2024) in the schema of ``livecodebench/code_generation_lite``.

Rows: ``question_title``, ``question_content``, ``platform``, ``question_id``,
``contest_id``, ``contest_date``, ``starter_code``, ``difficulty``,
``public_test_cases`` (JSON list of ``{input, output, testtype}``),
``private_test_cases`` (the same JSON, or base64 of zlib of a pickled JSON string) and
``metadata`` (JSON; ``func_name`` for functional problems). ``testtype`` is ``"stdin"``
(a program reading input, output compared line by line) or ``"functional"`` (a
``Solution`` method called on one JSON argument per input line).

Splits follow DataEnvGym: validation = the problems ``release_v2`` added to
``release_v1`` (``test2.jsonl``), test = ``release_v1`` (``test.jsonl``). Skills are the
difficulty levels. The pickled private tests are decoded with an unpickler that only
accepts plain strings, since a pickle from the network could otherwise run code.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import zlib
from pathlib import Path
from typing import Any

from societygym.envs.dataenv.domains.code.execution import Problem

HUB_ID = "livecodebench/code_generation_lite"
HUB_FILES = {"validation": "test2.jsonl", "test": "test.jsonl"}
DIFFICULTIES = ("easy", "medium", "hard")
INSTRUCTION = "{content}\n\n{format}\n```python\n{starter}\n```"
# LeetCode starter code names typing generics without importing them
FUNCTIONAL_HEADER = "from typing import Dict, List, Optional, Set, Tuple\n"
STDIN_FORMAT = "Write a Python program that reads the input from stdin and prints the answer."
FUNCTIONAL_FORMAT = "Complete this class (keep the method name and signature):"


class _StringsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from test data")


def decode_tests(field: str) -> list[dict[str, str]]:
    """Test cases from a ``*_test_cases`` field, plain JSON or compressed pickled JSON."""
    try:
        return json.loads(field)
    except json.JSONDecodeError:
        raw = zlib.decompress(base64.b64decode(field.encode()))
        text = _StringsOnly(io.BytesIO(raw)).load()
        if not isinstance(text, str):
            raise ValueError("private test cases are not a JSON string") from None
        return json.loads(text)


def encode_private_tests(cases: list[dict[str, str]]) -> str:
    """The hub's compressed encoding (for fixtures)."""
    data = pickle.dumps(json.dumps(cases))
    return base64.b64encode(zlib.compress(data)).decode()


def load_rows(source: str | os.PathLike, split: str) -> list[dict]:
    """Rows of ``split`` from a local folder laid out like the hub repo (``test.jsonl``,
    ``test2.jsonl``) or from the hub dataset's files themselves."""
    from datasets import load_dataset

    path = Path(source)
    if path.is_dir():
        url = str(path / HUB_FILES[split])
    else:
        url = f"hf://datasets/{source}/{HUB_FILES[split]}"
    return list(load_dataset("json", data_files=url, split="train"))


def to_problem(row: dict[str, Any]) -> Problem:
    cases = decode_tests(row["public_test_cases"]) + decode_tests(row["private_test_cases"])
    metadata = json.loads(row.get("metadata") or "{}")
    kind = cases[0]["testtype"] if cases else "stdin"
    starter = row.get("starter_code") or ""
    prompt = INSTRUCTION.format(
        content=row["question_content"].strip(),
        format=FUNCTIONAL_FORMAT if kind == "functional" else STDIN_FORMAT,
        starter=starter,
    )
    return Problem(
        id=f"lcb/{row['platform']}/{row['question_id']}",
        skill=row["difficulty"],
        entry_point=metadata.get("func_name", ""),
        prompt=prompt,
        solution="",
        kind=kind,
        cases=tuple((c["input"], c["output"]) for c in cases),
        header=FUNCTIONAL_HEADER if kind == "functional" else "",
    )


def livecodebench_splits(source: str | os.PathLike = HUB_ID) -> dict[str, list[Problem]]:
    return {split: [to_problem(r) for r in load_rows(source, split)] for split in HUB_FILES}
