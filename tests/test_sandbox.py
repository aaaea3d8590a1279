"""societygym.sandbox: the pool, the policies and the values it returns (happy paths).

Hostile programs are in test_sandbox_hostile.py.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from societygym.sandbox import Policy, RunResult, Sandbox, SandboxClosed, get_sandbox, plain
from societygym.sandbox.checks import check_source
from societygym.sandbox.errors import ForbiddenCode

STDLIB = Policy.stdlib(wall_seconds=5, cpu_seconds=5)
HERE = os.path.dirname(os.path.abspath(__file__))  # the DSLs below live in this module


def make_counter_dsl() -> dict:
    """A DSL factory with state: each run must start from a fresh counter."""
    state = {"count": 0}

    def step(by: int = 1) -> int:
        state["count"] += by
        return state["count"]

    return {"step": step, "count": lambda: state["count"]}


def canvas(width: int, height: int) -> np.ndarray:
    """A DSL function returning an image, as a renderer would."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, : width // 2] = 255
    return image


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(workers=2, policy=STDLIB, read_paths=[HERE]) as pool:
        yield pool


def test_value_of_a_variable_and_captured_stdout(sandbox: Sandbox) -> None:
    result = sandbox.run("x = [i * i for i in range(4)]\nprint('hello', x)", result_name="x")
    assert isinstance(result, RunResult)
    assert result.ok and result.error_type is None and result.error == ""
    assert result.value == [0, 1, 4, 9]
    assert result.stdout == "hello [0, 1, 4, 9]\n"
    assert result.wall_seconds > 0 and result.cpu_seconds >= 0


def test_entry_called_with_args_and_plain_values_round_trip(sandbox: Sandbox) -> None:
    program = (
        "def entry(a, b, *, c=None):\n    return {'sum': a + b, 't': (a, b), 's': {a}, 'b': b'x'}"
    )
    result = sandbox.run(program, entry="entry", args=(2, 3))
    assert result.ok
    assert result.value == {"sum": 5, "t": (2, 3), "s": {2}, "b": b"x"}


def test_stderr_and_stdin(sandbox: Sandbox) -> None:
    program = "name = input()\nprint('hi', name)\n"
    result = sandbox.run(program + "raise ValueError('bad ' + name)", stdin="Ada\n")
    assert result.stdout == "hi Ada\n"
    assert result.error_type == "exception"
    assert result.error.endswith("ValueError: bad Ada\n")
    assert 'File "<program>", line 3' in result.error  # the program's own traceback only


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("import math\nr = math.comb(5, 2)", 10),
        (
            "import datetime\nr = str(datetime.date(2024, 2, 28) + datetime.timedelta(days=2))",
            "2024-03-01",
        ),
        ("from collections import Counter\nr = Counter('abca').most_common(1)", [("a", 2)]),
        ("import itertools\nr = list(itertools.permutations([1, 2]))", [(1, 2), (2, 1)]),
        ("import re\nr = re.findall(r'\\d+', 'a1b22')", ["1", "22"]),
        ("import json\nr = json.loads(json.dumps({'a': [1]}))", {"a": [1]}),
        ("from datetime import datetime\nr = datetime.strptime('03/01/2024', '%m/%d/%Y').day", 1),
        (
            "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\nr = repr(P(1))",
            "P(x=1)",
        ),
        (
            "from typing import NamedTuple\nclass P(NamedTuple):\n    x: int\nr = P(1)._asdict()",
            {"x": 1},
        ),
    ],
)
def test_allow_listed_imports(sandbox: Sandbox, program: str, expected: object) -> None:
    result = sandbox.run(program, result_name="r")
    assert result.ok, result.error
    assert result.value == expected


def test_dateutil_when_allowed(sandbox: Sandbox) -> None:
    pytest.importorskip("dateutil")
    program = (
        "from dateutil.relativedelta import relativedelta\nfrom dateutil import parser\n"
        "r = (parser.parse('2024-01-31') + relativedelta(months=1)).strftime('%m/%d/%Y')"
    )
    policy = Policy.stdlib(extra_imports={"dateutil"})
    result = sandbox.run(program, result_name="r", policy=policy)
    assert result.ok, result.error
    assert result.value == "02/29/2024"
    assert sandbox.run(program, result_name="r").error_type == "forbidden"  # not in STDLIB


def test_dsl_namespace_by_spec_is_fresh_for_every_run(sandbox: Sandbox) -> None:
    policy = Policy.dsl(f"{__name__}:make_counter_dsl")
    program = "step()\nstep(2)\nimport math\nr = count() + math.floor(0.5)"
    first = sandbox.run(program, result_name="r", policy=policy)
    second = sandbox.run(program, result_name="r", policy=policy)
    assert (first.value, second.value) == (3, 3)
    refused = sandbox.run("import json", policy=policy)  # only the DSL's names and math
    assert refused.error_type == "forbidden" and "'json'" in refused.error


def test_dsl_namespace_mapping_and_numpy_image_value(sandbox: Sandbox) -> None:
    policy = Policy.dsl({"canvas": canvas})
    result = sandbox.run("def render():\n    return canvas(4, 2)", entry="render", policy=policy)
    assert result.ok, result.error
    assert isinstance(result.value, np.ndarray) and result.value.dtype == np.uint8
    assert result.value.shape == (2, 4, 3) and result.value[0, 0, 0] == 255


def test_run_many_preserves_order_and_runs_in_parallel(sandbox: Sandbox) -> None:
    jobs: list = [f"x = {i} * 2" for i in range(6)]
    results = sandbox.run_many(
        [{"program": p, "result_name": "x"} for p in jobs] + ["print('last')"]
    )
    assert [r.value for r in results[:-1]] == [0, 2, 4, 6, 8, 10]
    assert results[-1].stdout == "last\n"
    start = time.perf_counter()
    sleepers = sandbox.run_many([{"program": "import time\ntime.sleep(0.6)"}] * 2)
    assert all(r.ok for r in sleepers)
    assert time.perf_counter() - start < 1.1  # two workers, so both sleeps overlap


def test_syntax_error_is_reported_with_its_line(sandbox: Sandbox) -> None:
    result = sandbox.run("x = 1\ny = (2,\n")
    assert result.error_type == "syntax"
    assert "SyntaxError" in result.error and "line 2" in result.error


def test_missing_entry_or_result_name(sandbox: Sandbox) -> None:
    assert "does not define a function 'main'" in sandbox.run("x = 1", entry="main").error
    assert "does not define 'y'" in sandbox.run("x = 1", result_name="y").error


def test_exit_zero_ends_the_program_normally(sandbox: Sandbox) -> None:
    result = sandbox.run("x = 1\nexit(0)\nx = 2", result_name="x")
    assert result.ok and result.value == 1
    assert sandbox.run("exit(3)").error_type == "exception"


def test_restricted_eval_and_exec_of_safe_strings(sandbox: Sandbox) -> None:
    program = "exec('y = 20')\nr = eval('y + 1') + eval('a * 2', {'a': 3})"
    assert sandbox.run(program, result_name="r").value == 27


def test_safe_introspection_builtins(sandbox: Sandbox) -> None:
    program = "class A:\n    pass\nr = [type(A()).__name__, getattr(A, 'x', 5), 'upper' in dir('')]"
    assert sandbox.run(program, result_name="r").value == ["A", 5, True]
    assert all(not n.startswith("_") for n in sandbox.run("r = dir(1)", result_name="r").value)


def test_state_does_not_leak_between_runs() -> None:
    with Sandbox(workers=1, policy=STDLIB) as pool:
        assert pool.run("leaked = 1\nimport random\nrandom.seed(0)").ok
        result = pool.run("import random\nr = random.random()\nprint(leaked)")
        assert result.error_type == "exception" and "NameError" in result.error
        seeded = pool.run("import random\nrandom.seed(0)\nr = random.random()", result_name="r")
        fresh = pool.run("import random\nr = random.random()", result_name="r")
        assert fresh.value != seeded.value  # reseeded for every run
        assert "read-only" in pool.run("import math\nmath.pi = 3").error
        assert pool.run("import math\nr = math.pi", result_name="r").value == pytest.approx(
            3.14159, 1e-5
        )
        assert pool.stats()["workers_replaced"] == 0  # none of this needed a new worker


def test_scratch_directory_files() -> None:
    policy = Policy.stdlib(allow_scratch_writes=True)
    with Sandbox(workers=1, policy=policy) as pool:
        program = (
            "with open('notes.txt', 'w') as f:\n    f.write('hi')\nr = open('notes.txt').read()"
        )
        assert pool.run(program, result_name="r").value == "hi"
        later = pool.run("r = open('notes.txt').read()", result_name="r")
        assert later.error_type == "exception" and "FileNotFoundError" in later.error
        assert pool.run("open('x', 'w')", policy=STDLIB).error_type == "forbidden"  # no open()


def test_every_run_gets_a_fresh_worker(sandbox: Sandbox) -> None:
    before = sandbox.stats()
    result = sandbox.run("while True:\n    pass", timeout=0.5)
    assert result.error_type == "timeout"
    assert sandbox.run("x = 1", result_name="x").value == 1
    after = sandbox.stats()
    assert after["workers_started"] >= before["workers_started"] + 2  # one per run
    assert after["jobs"] == before["jobs"] + 2 and after["workers"] >= 2


def test_shared_default_pool() -> None:
    assert get_sandbox() is get_sandbox()
    assert get_sandbox().run("x = 40 + 2", result_name="x").value == 42


def test_closed_sandbox_refuses_work() -> None:
    pool = Sandbox(workers=1)
    assert pool.run("x = 1", result_name="x").ok
    process = pool._server.process  # type: ignore[union-attr]
    pool.close()
    assert process.wait(timeout=5) == 0
    with pytest.raises(SandboxClosed):
        pool.run("x = 1")


def test_forked_child_gets_its_own_server() -> None:
    pool = get_sandbox()
    assert pool.run("x = 1", result_name="x").ok
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: must not reuse (or stop) the parent's server
        try:
            value = pool.run("x = 7 * 6", result_name="x").value
            os.write(write_end, str(value).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 16) == b"42"
    os.close(read_end)
    assert pool.run("x = 2", result_name="x").value == 2  # the parent's pool still works


def _script(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


def test_import_and_construction_start_nothing() -> None:
    code = (
        "import os, threading\nimport societygym.sandbox as s\npool = s.Sandbox()\n"
        "tasks = os.listdir('/proc/self/task')\n"
        "kids = [open(f'/proc/self/task/{t}/children').read() for t in tasks]\n"
        "print(threading.active_count(), repr(''.join(kids)))"
    )
    done = _script(code)
    assert done.stdout.strip() == "1 ''", done.stderr


def test_works_in_a_parent_with_torch_threads() -> None:
    pytest.importorskip("torch")
    code = (
        "import torch\na = torch.randn(300, 300)\n(a @ a).sum()\n"
        "from societygym.sandbox import get_sandbox\n"
        "print(get_sandbox().run('x = 6 * 7', result_name='x').value)"
    )
    done = _script(code)
    assert done.stdout.strip() == "42", done.stderr


class _SquareEnv:
    """A minimal Gymnasium env whose step runs a program in the shared sandbox."""

    def __new__(cls):  # build lazily so importing this test module stays cheap
        import gymnasium as gym

        class SquareEnv(gym.Env):
            observation_space = gym.spaces.Discrete(10_000)
            action_space = gym.spaces.Discrete(100)

            def reset(self, *, seed=None, options=None):
                return 0, {}

            def step(self, action):
                result = get_sandbox().run(
                    "def f(n):\n    return n * n", entry="f", args=(int(action),)
                )
                return int(result.value), 1.0, True, False, {}

        return SquareEnv()


def test_works_inside_async_vector_env_workers() -> None:
    from gymnasium.vector import AsyncVectorEnv

    envs = AsyncVectorEnv([_SquareEnv, _SquareEnv], context="fork")
    try:
        envs.reset(seed=0)
        observations, *_ = envs.step(np.array([3, 4]))
    finally:
        envs.close()
    assert observations.tolist() == [9, 16]


def test_policy_validation_and_presets() -> None:
    stdlib = Policy.stdlib(extra_imports="dateutil")
    assert "dateutil" in stdlib.allowed_imports and stdlib.allows_import("dateutil.parser")
    for module in ("os", "sys", "subprocess", "socket", "ctypes", "io", "builtins", "pathlib"):
        assert not stdlib.allows_import(module)
    assert Policy.dsl("pkg.mod:names").allowed_imports == frozenset({"math"})
    with pytest.raises(ValueError, match="module:attr"):
        Policy(namespace="no_colon")
    with pytest.raises(ValueError, match="wall_seconds"):
        Policy(wall_seconds=0)


def test_static_check_lists_every_offending_name() -> None:
    with pytest.raises(ForbiddenCode) as caught:
        check_source("x = ().__class__.__base__\ny = f.__globals__\n__import__('os')")
    names = [name for name, _ in caught.value.offences]
    assert names == ["__base__", "__class__", "__globals__", "__import__"]
    check_source(
        "class A:\n    def __init__(self):\n        super().__init__()\n        self._x = 1"
    )


def test_plain_data_rule() -> None:
    class Sneaky(int):
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(plain.NotPlainData, match="Sneaky"):
        plain.to_plain([1, Sneaky(2)])
    crafted = pickle.dumps(Sneaky(2))  # what a compromised worker could send
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        plain.loads(crafted)
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert np.array_equal(plain.loads(plain.dumps(plain.to_plain(array))), array)
    assert plain.loads(plain.dumps(plain.to_plain((1.5, 2j, None)))) == (1.5, 2j, None)
