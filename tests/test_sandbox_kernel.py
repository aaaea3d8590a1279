"""The kernel layers: on here, and enough on their own.

`python_layers=False` switches off the static check, the curated builtins, the import
allow-list and the audit hook, so these programs meet only the namespaces, uid nobody,
the dropped capabilities, seccomp and Landlock. Each test checks the concrete effect
(a canary file, a listener's connection count, a signal counter), not an error type.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from societygym.sandbox import Policy, Sandbox, linux
from societygym.sandbox.isolation import LAYERS, describe_missing, missing
from societygym.sandbox.pool import IsolationUnavailable
from tests.sandbox_support import (
    connections,
    listening_socket,
    secret_in_environment,
    signals_received,
)

KERNEL_ONLY = Policy(python_layers=False, wall_seconds=5, cpu_seconds=5)
SECRET_NAME = "SOCIETYGYM_TEST_SECRET"


def _user_namespaces_work() -> bool:
    """An independent probe: can a child process create a user namespace here?"""
    pid = os.fork()
    if pid == 0:
        try:
            linux.unshare(linux.CLONE_NEWUSER)
            os._exit(0)
        except OSError:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


@pytest.fixture(scope="module")
def secret() -> Iterator[str]:
    with secret_in_environment(SECRET_NAME) as value:  # before the pool below starts
        yield value


@pytest.fixture(scope="module")
def sandbox(secret: str) -> Iterator[Sandbox]:
    with Sandbox(workers=2) as pool:
        if missing(pool.isolation()):
            pytest.skip(describe_missing(pool.isolation()))
        yield pool


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with listening_socket() as server:
        yield server


def test_isolation_is_on_here() -> None:
    """CI sets SOCIETYGYM_REQUIRE_ISOLATION=1: there every layer must be on."""
    required = os.environ.get("SOCIETYGYM_REQUIRE_ISOLATION") == "1"
    if not required and not (sys.platform == "linux" and _user_namespaces_work()):
        pytest.skip("this machine cannot create user namespaces")
    with Sandbox(workers=1) as pool:
        report = pool.isolation()
    assert set(report) == set(LAYERS)
    assert not missing(report), describe_missing(report)


def test_required_isolation_refuses_to_run_without_it() -> None:
    with Sandbox(workers=1) as pool:
        pool.isolation = lambda: {**dict.fromkeys(LAYERS, ""), "seccomp": "test: switched off"}
        with pytest.raises(IsolationUnavailable, match="seccomp"):
            pool.run("x = 1", policy=Policy(isolation="required"))
        with pytest.raises(IsolationUnavailable, match="python_layers=False"):
            pool.run("x = 1", policy=KERNEL_ONLY)
        assert pool.run("x = 1", result_name="x").value == 1  # "auto" still runs
    with pytest.raises(ValueError, match="isolation"):
        Policy(isolation="sometimes")
    line = describe_missing({"namespaces": "unshare: EPERM", "seccomp": ""})
    assert line.count("\n") == 0 and "namespaces (unshare: EPERM)" in line
    assert "seccomp" not in line


def test_a_missing_layer_is_said_once_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from societygym.sandbox import pool

    monkeypatch.setattr(pool, "_warned_missing", False)
    report = {**dict.fromkeys(LAYERS, ""), "landlock": "the kernel has no Landlock"}
    pool._notice_missing_layers(report)
    pool._notice_missing_layers(report)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "landlock (the kernel has no Landlock)" in err
    pool._notice_missing_layers(dict.fromkeys(LAYERS, ""))
    assert capsys.readouterr().err == ""


def test_required_isolation_runs_here(sandbox: Sandbox) -> None:
    result = sandbox.run("x = 2 + 2", result_name="x", policy=Policy(isolation="required"))
    assert result.ok and result.value == 4


def test_the_worker_is_nobody_in_an_empty_world(sandbox: Sandbox, secret: str) -> None:
    program = (
        "import os, socket\n"
        "r = {'uid': os.getuid(), 'gid': os.getgid(), 'pid': os.getpid(),\n"
        "     'ppid': os.getppid(), 'env': dict(os.environ), 'host': socket.gethostname(),\n"
        "     'proc': os.path.exists('/proc/self'), 'home': os.path.exists('/root/.bashrc'),\n"
        "     'tests': os.path.exists(" + repr(__file__) + ")}\n"
    )
    result = sandbox.run(program, result_name="r", policy=KERNEL_ONLY)
    assert result.ok, result.error
    r = result.value
    assert (r["uid"], r["gid"]) == (65534, 65534)
    assert r["pid"] != os.getpid() and r["ppid"] == 0  # the server is not in its PID namespace
    assert secret not in str(r["env"]) and SECRET_NAME not in r["env"]
    assert r["host"] == "sandbox" and not r["proc"] and not r["home"] and not r["tests"]


def test_os_system_and_exec_reach_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    for program in (
        f"import os\nos.system('touch {canary}')",
        f"import os\nos.execv('/bin/touch', ['touch', '{canary}'])",
        f"import subprocess\nsubprocess.run(['touch', '{canary}'])",
        f"import ctypes\nctypes.CDLL(None).system(b'touch {canary}')",
    ):
        result = sandbox.run(program, policy=KERNEL_ONLY)
        assert not result.ok and result.error_type in ("forbidden", "exception"), result
        assert not canary.exists()


def test_files_outside_the_view_are_unreachable(sandbox: Sandbox, tmp_path: Path) -> None:
    canary = tmp_path / "written"
    reads = sandbox.run("r = open('/etc/passwd').read()", result_name="r", policy=KERNEL_ONLY)
    assert not reads.ok and "root:" not in str(reads)
    writes = sandbox.run(f"open('{canary}', 'w').write('x')", policy=KERNEL_ONLY)
    assert not writes.ok and not canary.exists()
    system = sandbox.run("open('/usr/lib/sg-canary', 'w')", policy=KERNEL_ONLY)
    assert not system.ok and not os.path.exists("/usr/lib/sg-canary")
    source = sandbox.run(f"r = open({__file__!r}).read()", result_name="r", policy=KERNEL_ONLY)
    assert not source.ok  # the project tree beyond the package is not there
    scratch = sandbox.run(
        "open('mine.txt', 'w').write('ok')\nr = open('mine.txt').read()",
        result_name="r",
        policy=KERNEL_ONLY,
    )
    assert scratch.ok and scratch.value == "ok"  # the private scratch directory works


def test_sockets_reach_nothing(sandbox: Sandbox, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for program in (
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
        f"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)",
        "import ctypes\nctypes.CDLL(None).socket(2, 1, 0)",
    ):
        result = sandbox.run(program, policy=KERNEL_ONLY)
        assert not result.ok, result
    assert connections(listener) == 0


def test_signals_and_forks_reach_nothing(sandbox: Sandbox) -> None:
    with signals_received(signal.SIGUSR1) as received:
        for program in (
            f"import os\nos.kill({os.getpid()}, 10)",
            "import os\nos.kill(-1, 10)",
            "import os\nos.kill(0, 10)",
            "import os\nos.fork()",
            "import threading\nthreading.Thread(target=print).start()",
        ):
            result = sandbox.run(program, policy=KERNEL_ONLY)
            assert not result.ok, (program, result)
    assert received == []
    assert sandbox.run("x = 1", result_name="x").value == 1  # the pool is unharmed


def test_privileges_are_gone(sandbox: Sandbox) -> None:
    program = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r = [libc.unshare(0x10000000), libc.mount(b'none', b'/tmp', b'tmpfs', 0, None),\n"
        "     libc.prctl(39, 0, 0, 0, 0), libc.chroot(b'/')]\n"
        "try:\n    os.setuid(0)\n    r.append('setuid')\nexcept PermissionError:\n"
        "    r.append('refused')\n"
    )
    result = sandbox.run(program, result_name="r", policy=KERNEL_ONLY)
    # unshare and mount are killed by seccomp before they return
    assert result.error_type == "forbidden" and "SIGSYS" in result.error
    nnp = sandbox.run(
        "import ctypes\nr = ctypes.CDLL(None).prctl(39, 0, 0, 0, 0)\nimport os\n"
        "try:\n    os.setuid(0)\n    s = 'setuid'\nexcept OSError:\n    s = 'refused'\n"
        "r = (r, s)",
        result_name="r",
        policy=KERNEL_ONLY,
    )
    assert nnp.value == (1, "refused")  # no_new_privs is set; uid 0 is not even mapped
