"""Hostile programs through the public API: `env.step` of every program env, a DataEnv
code teacher example, and `Sandbox.run`.

Every program tries to escape (introspection walks back to eval/exec, str.format and
string.Formatter attribute walks, frames, generators, tracebacks, gc, __subclasses__),
to read the parent's environment, write outside its scratch directory, run a binary,
connect to a listener the test starts, signal the test process, fork, poison later runs
or exhaust resources. Each case checks the effects: reward 0 (or not verified), no
canary file, the secret in no observation or info, 0 connections, no signal received,
and a wrong program run afterwards in the same pool still scores 0.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import societygym  # noqa: F401 - registers the env ids
from societygym.sandbox import Policy, get_sandbox
from tests.sandbox_support import (
    connections,
    listening_socket,
    secret_in_environment,
    signals_received,
)

SECRET_NAME = "SOCIETYGYM_HOSTILE_SECRET"

# {canary}: a host path; {port}: the listener; {parent}: the test's pid.
PAYLOADS: dict[str, str] = {
    "dunder_import": "__import__('os').system('touch {canary}')",
    "import_os": "import os\nos.system('touch {canary}')",
    "subprocess": "import subprocess\nsubprocess.run(['touch', '{canary}'])",
    "subclasses_walk": (
        "for c in ().__class__.__base__.__subclasses__():\n"
        "    if c.__name__ == '_wrap_close':\n"
        "        c.__init__.__globals__['system']('touch {canary}')"
    ),
    "type_subclasses": "s = type.__subclasses__(object)\nprint(len(s))",
    "builtin_importer": (
        "[c for c in object.__subclasses__() if 'Importer' in c.__name__][0]"
        ".load_module('os').system('touch {canary}')"
    ),
    "eval_string": "eval(\"__import__('os').system('touch {canary}')\")",
    "exec_string": "exec(\"import os\\nos.system('touch {canary}')\")",
    "getattr_builtins": "getattr(print, '__self__').exec(\"open('{canary}', 'w')\")",
    "format_globals": "def f():\n    pass\nprint('{{0.__globals__}}'.format(f))",
    "format_env": (
        "def f():\n    pass\nprint('{{0.__globals__[__builtins__]}}'.format(f))\n"
        "print('{{0.__init__.__globals__[os].environ}}'.format(object))"
    ),
    "formatter_get_field": (
        "import string\ndef f():\n    pass\n"
        "print(string.Formatter().get_field('0.__globals__', [f], {{}}))"
    ),
    "frame_back": "import sys\nprint(sys._getframe(0).f_back.f_globals)",
    "generator_frame": "g = (x for x in [1])\nprint(g.gi_frame.f_back)",
    "traceback_frame": (
        "try:\n    1 / 0\nexcept Exception as e:\n    print(e.__traceback__.tb_frame.f_globals)"
    ),
    "gc_objects": "import gc\nprint([o for o in gc.get_objects() if isinstance(o, dict)][:3])",
    "typing_eval": (
        "import typing\ndef f(x: \"__import__('os').system('touch {canary}')\"):\n    pass\n"
        "typing.get_type_hints(f)"
    ),
    "environ": "import os\nprint(os.environ)",
    "environ_via_posix": "import posix\nprint(posix.environ)",
    "read_passwd": "print(open('/etc/passwd').read())",
    "write_outside": "open('{canary}', 'w').write('pwned')",
    "io_open": "import io\nio.open('{canary}', 'w').write('pwned')",
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
    "urllib": (
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)"
    ),
    "ctypes": "import ctypes\nctypes.CDLL(None).system(b'touch {canary}')",
    "signal_parent": "import os\nos.kill({parent}, 10)",
    "fork": "import os\nos.fork()",
    "multiprocessing": "import multiprocessing\nmultiprocessing.Process(target=print).start()",
    "pickle": "import pickle\npickle.loads(b\"cos\\nsystem\\n(S'touch {canary}'\\ntR.\")",
    "importlib": "import importlib\nimportlib.import_module('os').system('touch {canary}')",
    "sys_modules": "import sys\nsys.modules['os'].system('touch {canary}')",
    "breakpoint": "breakpoint()",
    "poison_class": "import fractions\nfractions.Fraction.__eq__ = lambda a, b: True",
    "poison_builtins": "import builtins\nbuiltins.str = lambda *a: '02/29/2024'",
    "memory": "x = 'a' * 10**10",
    "output_flood": "print('x' * 10**8)",
}
SLOW = {"infinite_loop": "while True:\n    pass"}
# Through the envs by default: one of each family; the full list runs under -m slow.
QUICK = (
    "subclasses_walk",
    "format_env",
    "frame_back",
    "environ",
    "write_outside",
    "socket",
    "signal_parent",
    "poison_builtins",
)


@pytest.fixture(scope="module")
def secret() -> Iterator[str]:
    get_sandbox().close()  # the next pool's server starts after the secret is set
    with secret_in_environment(SECRET_NAME) as value:
        yield value


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, secret: str) -> Iterator[dict[str, Any]]:
    canary = tmp_path_factory.mktemp("hostile") / "canary"
    with listening_socket() as listener, signals_received(signal.SIGUSR1) as received:
        yield {
            "canary": canary,
            "listener": listener,
            "received": received,
            "secret": secret,
            "fill": {"canary": canary, "port": listener.getsockname()[1], "parent": os.getpid()},
        }


def assert_contained(world: dict[str, Any], *outputs: Any) -> None:
    assert not Path(world["canary"]).exists()
    assert connections(world["listener"]) == 0
    assert world["received"] == []
    text = repr(outputs)
    assert world["secret"] not in text and "root:x:0" not in text


ENV_IDS = {
    "ReGAL-Date-v0": "answer = '01/01/1900'",
    "ReGAL-TextCraft-v0": "pass",
    "ReGAL-Logo-v0": "forward(1)",
}


@pytest.fixture(scope="module")
def envs(secret: str) -> Iterator[dict[str, gym.Env]]:
    made = {env_id: gym.make(env_id, timeout_s=1.0) for env_id in ENV_IDS}
    for env in made.values():
        env.reset(seed=0)
    yield made
    for env in made.values():
        env.close()


def _step(env: gym.Env, program: str) -> tuple[float, Any, dict[str, Any]]:
    env.reset(seed=3)
    observation, reward, _, _, info = env.step(program)
    return reward, observation, info


def _check_env(envs: dict[str, gym.Env], world: dict[str, Any], program: str) -> None:
    for env_id, wrong in ENV_IDS.items():
        env = envs[env_id]
        reward, observation, info = _step(env, program)
        assert reward == 0.0, (env_id, info)
        assert_contained(world, observation, info)
        # Whatever the program did, a wrong program afterwards in the same pool scores 0.
        later, observation, info = _step(env, wrong)
        assert later == 0.0, (env_id, info)
        assert_contained(world, observation, info)


@pytest.mark.parametrize("name", QUICK)
def test_program_envs_contain_it(
    name: str, envs: dict[str, gym.Env], world: dict[str, Any]
) -> None:
    _check_env(envs, world, PAYLOADS[name].format(**world["fill"]))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted((set(PAYLOADS) - set(QUICK)) | set(SLOW)))
def test_program_envs_contain_slow_ones(
    name: str, envs: dict[str, gym.Env], world: dict[str, Any]
) -> None:
    _check_env(envs, world, {**PAYLOADS, **SLOW}[name].format(**world["fill"]))


@pytest.fixture(scope="module")
def code_domain(secret: str) -> Any:
    from societygym.envs.dataenv.domains.code.domain import CodeDomain

    return CodeDomain(timeout=1.0)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_code_teacher_examples_are_not_verified(
    name: str, code_domain: Any, world: dict[str, Any]
) -> None:
    from societygym.envs.dataenv.records import Example

    payload = PAYLOADS[name].format(**world["fill"])
    instruction = "Write f that doubles.\nassert f(2) == 4\nassert f(5) == 10"
    response = f"{payload}\ndef f(x):\n    return x\n"
    verdict = code_domain.verify(Example(instruction, response))
    assert verdict is False
    # An answer that fakes equality is judged on plain data in the parent: still wrong.
    faker = (
        "class A:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return A()\n"
    )
    assert code_domain.verify(Example(instruction, faker)) is False
    assert code_domain.verify(Example(instruction, "def f(x):\n    return x")) is False
    assert_contained(world, verdict, code_domain.check_example(Example(instruction, response)))


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_sandbox_run_contains_it(name: str, world: dict[str, Any]) -> None:
    sandbox = get_sandbox()
    policy = Policy.stdlib(wall_seconds=1, cpu_seconds=1, memory_mb=256)
    result = sandbox.run(PAYLOADS[name].format(**world["fill"]), policy=policy)
    assert_contained(world, result)
    check = "import fractions\nr = fractions.Fraction(1, 3) == 0.5"
    wrong = sandbox.run(check, result_name="r", policy=policy)
    assert wrong.ok and wrong.value is False  # nothing a program did reaches later runs


@pytest.fixture(scope="module")
def teaching_env(secret: str) -> Iterator[gym.Env]:
    env = gym.make(
        "DataEnv-Code-v0",
        student="tiny",
        domain_kwargs={"max_new_tokens": 16, "timeout": 1.0},
        max_iterations=3,  # two steps: the episode never ends, so no test-split evaluation
        val_per_skill=1,
        test_per_skill=1,
    )
    env.reset(seed=0)
    yield env
    env.close()


def test_code_teacher_examples_through_env_step_are_not_verified(
    teaching_env: gym.Env, world: dict[str, Any]
) -> None:
    """A teacher's examples whose code is wrong but tries to escape, read the environment or
    tamper with later judging: none is accepted, and wrong code sent afterwards (in the same
    step and in the next one) is still rejected."""
    doubles = "Write f that doubles.\nassert f(2) == 4\nassert f(5) == 10"
    computed = "Write f that doubles.\nassert f(2) == sum([2, 2])\nassert f(5) == 2 * 5"
    wrong = "def f(x):\n    return x\n"
    hostile = [
        {"instruction": tests, "response": PAYLOADS[name].format(**world["fill"]) + "\n" + wrong}
        for name in sorted(PAYLOADS)
        for tests in (doubles, computed)
    ]
    later = [{"instruction": tests, "response": wrong} for tests in (doubles, computed)]
    for examples in (hostile + later, later):
        observation, _, _, _, info = teaching_env.step(examples)
        assert info["accepted"] == 0 and info["train"] is None
        assert info["verification"]["passed"] == 0
        assert len(info["rejected"]) == len(examples)
        assert_contained(world, observation, info)
