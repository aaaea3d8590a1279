"""Hostile programs: every one is contained, reported with a clear reason, and the
same pool then still runs a normal program correctly.

Cases marked "backstop" use a deliberately over-permissive policy (os, sys, socket...
importable) to show that the audit hook still refuses the dangerous operation when
the namespace layers are bypassed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from societygym.sandbox import Policy, RunResult, Sandbox

LIMITS = {"wall_seconds": 1.0, "cpu_seconds": 1.0, "memory_mb": 256}
STDLIB = Policy.stdlib(**LIMITS)
SCRATCH = Policy.stdlib(allow_scratch_writes=True, **LIMITS)
# A misconfigured policy: the namespace would let these through, the audit hook must not.
BACKSTOP = Policy.stdlib(
    extra_imports={"os", "sys", "io", "subprocess", "socket", "ctypes", "signal", "gc", "pickle"},
    **LIMITS,
)
OUTSIDE_FILE = "/tmp/societygym-sandbox-escape-test"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(workers=2, policy=STDLIB) as pool:
        yield pool


def contained(sandbox: Sandbox, program: str, policy: Policy = STDLIB, **kwargs) -> RunResult:
    """Run a hostile program, then check that the pool still runs a normal one."""
    result = sandbox.run(program, policy=policy, **kwargs)
    assert not result.ok and result.error, result
    normal = sandbox.run("def f(n):\n    return sum(range(n))", entry="f", args=(10,))
    assert normal.ok and normal.value == 45, normal
    return result


TIME = [
    ("infinite_loop", "while True:\n    pass", "wall-clock limit"),
    ("sleep", "import time\ntime.sleep(30)", "wall-clock limit"),
    (
        "swallows_the_timeout",
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass",
        "limit",
    ),
    ("catastrophic_regex", "import re\nre.match('(a+)+$', 'a' * 40 + 'b')", "limit"),
]


@pytest.mark.parametrize(("name", "program", "reason"), TIME, ids=[t[0] for t in TIME])
def test_time_limits(sandbox: Sandbox, name: str, program: str, reason: str) -> None:
    result = contained(sandbox, program)
    assert result.error_type == "timeout" and reason in result.error
    assert result.wall_seconds < 2.5


def test_cpu_limit_is_separate_from_wall_clock(sandbox: Sandbox) -> None:
    policy = Policy.stdlib(wall_seconds=5, cpu_seconds=0.5)
    result = contained(sandbox, "x = 0\nwhile True:\n    x += 1", policy)
    assert result.error_type == "timeout" and "CPU time limit of 0.5 s" in result.error


def test_signal_tricks_cannot_disable_the_limits(sandbox: Sandbox) -> None:  # backstop
    program = (
        "import signal\nfor s in (signal.SIGALRM, signal.SIGPROF, signal.SIGXCPU):\n"
        "    signal.signal(s, signal.SIG_IGN)\nsignal.setitimer(signal.ITIMER_REAL, 0)\n"
        "while True:\n    pass"
    )
    result = contained(sandbox, program, BACKSTOP)
    assert result.error_type == "timeout" and "killed" in result.error


MEMORY = [
    ("huge_string", "x = 'a' * 10**10"),
    ("list_growth", "x = []\nwhile True:\n    x.append(bytearray(10**6))"),
    (
        "many_small_objects",
        "def f():\n    x = []\n    for i in range(10**9):\n        x.append(i)\nf()",
    ),
]


@pytest.mark.parametrize(("name", "program"), MEMORY, ids=[m[0] for m in MEMORY])
def test_memory_bombs(sandbox: Sandbox, name: str, program: str) -> None:
    # generous time limits: the memory limit must be what stops them, even on a busy machine
    policy = Policy.stdlib(wall_seconds=60, cpu_seconds=60, memory_mb=200)
    result = contained(sandbox, program, policy)
    assert result.error_type == "memory" and "200 MB" in result.error


def test_deep_recursion_is_an_ordinary_failure(sandbox: Sandbox) -> None:
    result = contained(sandbox, "def f(n):\n    return f(n + 1)\nf(0)")
    assert result.error_type == "exception" and "RecursionError" in result.error
    assert len(result.error) < 10_000


def test_c_stack_overflow_kills_only_the_worker(sandbox: Sandbox) -> None:
    before = sandbox.stats()["workers_replaced"]
    program = "x = iter([])\nfor _ in range(300000):\n    x = map(abs, x)\nlist(x)"
    result = contained(sandbox, program, Policy.stdlib(wall_seconds=5, cpu_seconds=5))
    if result.error_type == "crash":  # CPython 3.11 segfaults; later versions may raise
        assert "SIGSEGV" in result.error
        assert sandbox.stats()["workers_replaced"] == before + 1
    else:
        assert result.error_type in ("exception", "memory")


PROCESSES = [
    ("fork_import", "import os\nos.fork()", STDLIB, "import of 'os' is not allowed"),
    ("fork_bomb", "import os\nwhile True:\n    os.fork()", BACKSTOP, "os.fork is not allowed"),
    (
        "subprocess_bomb",
        "import subprocess\nwhile True:\n    subprocess.Popen(['sleep', '9'])",
        BACKSTOP,
        "subprocess.Popen is not allowed",
    ),
    ("os_system", "import os\nos.system('echo pwned')", BACKSTOP, "os.system is not allowed"),
    ("exec_binary", "import os\nos.execv('/bin/sh', ['sh'])", BACKSTOP, "os.exec is not allowed"),
    (
        "posix_spawn",
        "import os\nos.posix_spawn('/bin/true', ['true'], {})",
        BACKSTOP,
        "not allowed",
    ),
    ("kill_parent", "import os\nos.kill(os.getppid(), 9)", BACKSTOP, "os.kill is not allowed"),
    ("kill_group", "import os\nos.killpg(0, 9)", BACKSTOP, "os.killpg is not allowed"),
    (
        "pthread_kill",
        "import signal\nsignal.pthread_kill(0, 9)",
        BACKSTOP,
        "signal.pthread_kill is not allowed",
    ),
]


@pytest.mark.parametrize(
    ("name", "program", "policy", "reason"), PROCESSES, ids=[p[0] for p in PROCESSES]
)
def test_no_processes_or_signals(
    sandbox: Sandbox, name: str, program: str, policy: Policy, reason: str
) -> None:
    result = contained(sandbox, program, policy)
    assert result.error_type == "forbidden" and reason in result.error


def test_caught_violations_still_fail_the_run(sandbox: Sandbox) -> None:  # backstop
    program = "import os\ntry:\n    os.fork()\nexcept Exception:\n    pass\nx = 1"
    result = contained(sandbox, program, BACKSTOP, result_name="x")
    assert result.error_type == "forbidden" and "os.fork" in result.error


FILES = [
    ("no_open_builtin", "print(open('/etc/passwd').read())", STDLIB, "open() is not available"),
    ("scoped_open_read", "print(open('/etc/passwd').read())", SCRATCH, "outside the scratch"),
    ("scoped_open_climb", "open('../../../etc/passwd')", SCRATCH, "outside the scratch"),
    ("io_open_read", "import io\nprint(io.open('/etc/passwd').read())", BACKSTOP, "reading"),
    ("os_open_read", "import os\nos.read(os.open('/etc/passwd', 0), 99)", BACKSTOP, "reading"),
    ("proc_environ", "import io\nio.open('/proc/self/environ').read()", BACKSTOP, "reading"),
    (
        "scoped_open_write",
        f"open({OUTSIDE_FILE!r}, 'w').write('x')",
        SCRATCH,
        "outside the scratch",
    ),
    ("io_open_write", f"import io\nio.open({OUTSIDE_FILE!r}, 'w').write('x')", BACKSTOP, "writing"),
    ("os_remove", "import os\nos.remove('/tmp/anything')", BACKSTOP, "writing"),
    ("listdir", "import os\nprint(os.listdir('/etc'))", BACKSTOP, "reading"),
    ("write_in_read_only_scratch", "import io\nio.open('x.txt', 'w')", BACKSTOP, "writing files"),
    ("file_descriptor", "import io\nio.open(0).read()", BACKSTOP, "file descriptor"),
]


@pytest.mark.parametrize(("name", "program", "policy", "reason"), FILES, ids=[f[0] for f in FILES])
def test_file_system_is_contained(
    sandbox: Sandbox, name: str, program: str, policy: Policy, reason: str
) -> None:
    result = contained(sandbox, program, policy)
    assert result.error_type == "forbidden" and reason in result.error
    assert "root:" not in result.stdout
    assert not os.path.exists(OUTSIDE_FILE)


NETWORK_AND_FFI = [
    ("socket_import", "import socket", STDLIB, "import of 'socket' is not allowed"),
    ("socket_backstop", "import socket\nsocket.socket()", BACKSTOP, "socket.__new__"),
    (
        "connect_backstop",
        "import socket\nsocket.create_connection(('127.0.0.1', 9))",
        BACKSTOP,
        "not allowed",
    ),
    ("ctypes_import", "import ctypes", STDLIB, "import of 'ctypes' is not allowed"),
    ("ctypes_backstop", "import ctypes\nctypes.CDLL(None)", BACKSTOP, "ctypes.dlopen"),
    ("ctypes_memory", "import ctypes\nctypes.string_at(1)", BACKSTOP, "not allowed"),
]


@pytest.mark.parametrize(
    ("name", "program", "policy", "reason"), NETWORK_AND_FFI, ids=[n[0] for n in NETWORK_AND_FFI]
)
def test_no_network_or_ctypes(
    sandbox: Sandbox, name: str, program: str, policy: Policy, reason: str
) -> None:
    result = contained(sandbox, program, policy)
    assert result.error_type == "forbidden" and reason in result.error


def test_gigabytes_of_output_are_truncated(sandbox: Sandbox) -> None:
    policy = Policy.stdlib(max_output_bytes=10_000, **LIMITS)
    for program in ("while True:\n    print('x' * 1000)", "print('y' * 10**8)"):
        result = contained(sandbox, program, policy)
        assert result.error_type == "output_limit" and "10000 bytes" in result.error
        assert 0 < len(result.stdout) <= 10_000


def test_output_limit_counts_even_when_caught(sandbox: Sandbox) -> None:
    program = (
        "while True:\n    try:\n        print('z' * 100)\n    except BaseException:\n        pass"
    )
    result = contained(sandbox, program, Policy.stdlib(max_output_bytes=1000, **LIMITS))
    assert result.error_type in ("output_limit", "timeout")


ESCAPES = [
    ("subclasses_walk", "().__class__.__base__.__subclasses__()", "'__subclasses__'"),
    ("globals_of_function", "def f():\n    pass\nf.__globals__", "'__globals__'"),
    ("builtin_self", "len.__self__.open('/etc/passwd')", "'__self__'"),
    ("import_dunder", "__import__('os')", "'__import__'"),
    ("builtins_name", "__builtins__['open']", "'__builtins__'"),
    ("generator_frame", "g = (i for i in [1])\ng.gi_frame.f_back.f_globals", "'gi_frame'"),
    (
        "traceback_frame",
        "try:\n    1/0\nexcept Exception as e:\n    e.__traceback__.tb_frame",
        "'tb_frame'",
    ),
    ("match_class_attribute", "match 1:\n    case int(__class__=c):\n        pass", "'__class__'"),
    ("string_built_getattr", "getattr((), '__cla' + 'ss__')", "'__class__'"),
    ("string_built_setattr", "def f():\n    pass\nsetattr(f, '__' + 'code__', 1)", "'__code__'"),
    (
        "str_subclass_name",
        "class S(str):\n    def startswith(self, *a):\n        return False\n"
        "getattr((), S('__class__'))",
        "plain str",
    ),
    ("frame_via_getattr", "g = (i for i in [1])\ngetattr(g, 'gi_' + 'frame')", "'gi_frame'"),
    ("globals_builtin", "globals()['__builtins__']", "globals() is not available"),
    ("vars_builtin", "vars()", "vars() is not available"),
    ("compile_builtin", "compile('1', 'x', 'eval')", "compile() is not available"),
    ("exec_import", "exec('import os')", "import of 'os' is not allowed"),
    ("eval_dunder", "eval('().__class__.__base__')", "'__base__'"),
    ("exec_in_fresh_globals", "exec('open(\"/etc/passwd\")', {})", "open() is not available"),
    ("attrgetter", "import operator\noperator.attrgetter('__class__')(())", "'__class__'"),
    ("relative_import", "from . import anything", "relative imports"),
]


@pytest.mark.parametrize(("name", "program", "reason"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_attribute_walk_escapes_are_refused(
    sandbox: Sandbox, name: str, program: str, reason: str
) -> None:
    result = contained(sandbox, program)
    assert result.error_type == "forbidden" and reason in result.error


HIDDEN = [
    ("private_module_member", "import random\nrandom._os.system('echo pwned')"),
    ("submodule_not_allowed", "import re\nre.enum.sys"),
    ("typing_eval", "import typing\ntyping.get_type_hints"),
    (
        "string_formatter_walk",
        "import string\nstring.Formatter().get_field('0.__class__', [()], {})",
    ),
    ("module_mutation", "import math\nmath.sqrt = print"),
]


@pytest.mark.parametrize(("name", "program"), HIDDEN, ids=[h[0] for h in HIDDEN])
def test_module_views_hide_dangerous_members(sandbox: Sandbox, name: str, program: str) -> None:
    result = contained(sandbox, program)
    assert result.error_type == "exception" and "AttributeError" in result.error


BACKSTOPS = [
    ("sys_modules_os", "import sys\nsys.modules['os'].system('echo pwned')", "os.system"),
    ("real_builtins_open", "import sys\nsys.modules['builtins'].open('/etc/passwd')", "reading"),
    ("frame_walk", "import sys\nsys._getframe().f_back", "'f_back'"),
    ("gc_objects", "import gc\ngc.get_objects()", "gc.get_objects"),
    ("gc_referrers", "import gc\ngc.get_referrers(1)", "gc.get_referrers"),
    (
        "pickle_gadget",
        "import pickle\npickle.loads(b'cos\\nsystem\\n(S\"id\"\\ntR.')",
        "find_class",
    ),
    ("settrace", "import sys\nsys.settrace(None)", "sys.settrace"),
    ("addaudithook", "import sys\nsys.addaudithook(lambda *a: None)", "sys.addaudithook"),
    ("setrlimit", "import resource", "import of 'resource'"),
]


@pytest.mark.parametrize(("name", "program", "reason"), BACKSTOPS, ids=[b[0] for b in BACKSTOPS])
def test_audit_hook_backstop(sandbox: Sandbox, name: str, program: str, reason: str) -> None:
    result = contained(sandbox, program, BACKSTOP)
    assert result.error_type == "forbidden" and reason in result.error


def test_forged_result_frames_are_detected(sandbox: Sandbox) -> None:  # backstop
    # Raw writes to an inherited descriptor are not audited: a program could try to
    # answer for the next job. The per-job token makes the server reject it.
    program = (
        "import os\nfor fd in range(3, 64):\n    try:\n"
        "        os.write(fd, (17).to_bytes(4, 'big') + b'\\x00' * 17)\n"
        "    except OSError:\n        pass"
    )
    result = contained(sandbox, program, BACKSTOP)
    assert result.error_type == "crash" and "protocol" in result.error


def test_reduce_in_result_cannot_reach_the_parent(sandbox: Sandbox, capfd) -> None:
    program = (
        "class Evil:\n    def __reduce__(self):\n        return (print, ('pwned',))\n"
        "r = [1, Evil()]\ndef entry():\n    return {'k': Evil()}"
    )
    by_name = contained(sandbox, program, result_name="r")
    by_entry = contained(sandbox, program, entry="entry")
    for result in (by_name, by_entry):
        assert result.error_type == "bad_value" and "'Evil' is not plain data" in result.error
    subclass = contained(sandbox, "class N(int):\n    pass\nr = N(3)", result_name="r")
    assert subclass.error_type == "bad_value"
    assert "pwned" not in capfd.readouterr().out


def test_library_class_changes_do_not_reach_later_runs() -> None:
    with Sandbox(workers=1, policy=STDLIB) as pool:
        tamper = pool.run("import fractions\nfractions.Fraction.limit_denominator = None")
        assert tamper.ok  # not audited by CPython, but the run's process is discarded
        check = "import fractions\nr = str(fractions.Fraction(1, 3).limit_denominator(10))"
        assert pool.run(check, result_name="r").value == "1/3"


def test_syntax_bombs_are_contained(sandbox: Sandbox) -> None:
    deep = contained(sandbox, "x = " + "(" * 10_000 + ")" * 10_000)
    assert deep.error_type == "syntax"
    huge_literal = contained(sandbox, "x = 10 ** 10 ** 10")
    assert huge_literal.error_type in ("timeout", "memory")
