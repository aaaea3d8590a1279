"""The server's jail: new namespaces, a minimal read-only file-system view, uid nobody.

`enter` runs once in the sandbox server, before it forks any worker, and moves the
server into new user, mount, PID, network, IPC and UTS namespaces. The new root is
an empty tmpfs holding read-only bind mounts of exactly the paths a program may
need (`read_only_paths`: the Python installation, site-packages, the societygym
package, shared libraries, time-zone data, a few device nodes) at their usual
absolute paths, plus a private writable tmpfs for the workers' scratch directories.
There is no /proc, /sys, /home or project tree, and the network namespace has no
interface but a down loopback.

Inside, the server is uid/gid 65534. Started as root, that id maps to the host's
``nobody`` (written by a short-lived helper that keeps root outside); otherwise to
the invoking user, the only id an unprivileged process may map.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import sysconfig
from collections.abc import Iterable

from societygym.sandbox import linux

NOBODY = 65534
NEW_ROOT = "/tmp"  # mounted over in the private mount namespace only; every system has it
SCRATCH_ROOT = "/scratch"
SCRATCH_TMPFS = "size=256m,nr_inodes=65536,mode=0700"
_NAMESPACES = (
    linux.CLONE_NEWUSER
    | linux.CLONE_NEWNS
    | linux.CLONE_NEWPID
    | linux.CLONE_NEWNET
    | linux.CLONE_NEWIPC
    | linux.CLONE_NEWUTS
)
_SYSTEM_PATHS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache")
TZ_PATHS = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo", "/etc/zoneinfo")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
_LOCKED_FLAGS = {  # mount flags a user namespace may not clear when remounting a bind
    os.ST_NOSUID: linux.MS_NOSUID,
    os.ST_NODEV: linux.MS_NODEV,
    os.ST_NOEXEC: linux.MS_NOEXEC,
    os.ST_NOATIME: linux.MS_NOATIME,
    os.ST_NODIRATIME: linux.MS_NODIRATIME,
    os.ST_RELATIME: linux.MS_RELATIME,
}


def python_paths(package_dir: str) -> list[str]:
    """Where imports may read from: the interpreter's install, site-packages, the package."""
    paths = sysconfig.get_paths()
    found = [sys.base_prefix, package_dir]
    found += [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    found += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return found


def read_only_paths(package_dir: str, extra: Iterable[str] = ()) -> list[str]:
    """Every path a worker may read, without duplicates or paths inside another."""
    candidates = [*python_paths(package_dir), *_SYSTEM_PATHS, *TZ_PATHS, "/etc/localtime", *extra]
    return _outermost(p for p in candidates if os.path.exists(p))


def _outermost(paths: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted({os.path.abspath(p) for p in paths}, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _map_ids_from_outside(pid: int, ready: int) -> int:
    """Fork a helper that keeps host root and maps ``pid``'s uid 65534 to host nobody."""
    helper = os.fork()
    if helper:
        return helper
    code = 1
    try:
        if os.read(ready, 1):
            _write(f"/proc/{pid}/uid_map", f"{NOBODY} {NOBODY} 1\n")
            _write(f"/proc/{pid}/gid_map", f"{NOBODY} {NOBODY} 1\n")
            code = 0
    finally:
        os._exit(code)


def _enter_namespaces() -> bool:
    """Unshare every namespace and map the ids; True where the caller must still
    switch to nobody (`_become_nobody`), which it does after opening its sources."""
    root = os.geteuid() == 0
    if root:
        os.setgroups([])  # supplementary groups would survive the switch to nobody
        ready_r, ready_w = os.pipe()
        helper = _map_ids_from_outside(os.getpid(), ready_r)
        os.close(ready_r)
    uid, gid = os.geteuid(), os.getegid()
    try:
        linux.unshare(_NAMESPACES)
    except OSError:
        if root:
            os.close(ready_w)  # the helper reads EOF and exits
            os.waitpid(helper, 0)
        raise
    if not root:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{NOBODY} {uid} 1\n")
        _write("/proc/self/gid_map", f"{NOBODY} {gid} 1\n")
        return False
    os.write(ready_w, b"1")
    os.close(ready_w)
    _, status = os.waitpid(helper, 0)
    if status != 0:
        raise OSError("could not map uid 65534 to the host's nobody")
    return True


def _become_nobody() -> None:
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)  # keeps the namespace's capabilities
    # Changing uid made the process non-dumpable, which hides /proc/self/fd from it.
    linux.prctl(linux.PR_SET_DUMPABLE, 1)


def _bind_read_only(fd: int, target: str, device: bool) -> None:
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "a"):
            pass
    handle = f"/proc/self/fd/{fd}"
    try:
        linux.mount(handle, target, None, linux.MS_BIND)
    except OSError:  # a tree with locked submounts can only be bound whole
        linux.mount(handle, target, None, linux.MS_BIND | linux.MS_REC)
    flags = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.MS_NOSUID
    if not device:
        flags |= linux.MS_NODEV
    current = os.statvfs(target).f_flag
    flags |= sum(ms for st, ms in _LOCKED_FLAGS.items() if current & st)
    linux.mount(None, target, None, flags)


def _open_sources(paths: Iterable[str]) -> list[tuple[int, str]]:
    opened = []
    for path in paths:
        real = os.path.realpath(path)
        with contextlib.suppress(OSError):
            opened.append((os.open(real, os.O_PATH | os.O_CLOEXEC), path))
    return opened


def enter(paths: list[str]) -> None:
    """Move this process into the jail (see the module docstring); raises OSError.

    Afterwards the process still holds every capability inside its own namespaces
    (the caller drops them) and its next child becomes PID 1 of the new PID namespace.
    """
    switch_uid = _enter_namespaces()
    # Opened as the original user, who can traverse private directories such as a
    # 0700 home holding the interpreter; bind mounts then need no path lookup.
    sources = _open_sources([*paths, *DEVICES])
    try:
        if switch_uid:
            _become_nobody()
        linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
        linux.mount("tmpfs", NEW_ROOT, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=0755")
        for fd, path in sources:
            _bind_read_only(fd, NEW_ROOT + path, path in DEVICES)
        scratch = NEW_ROOT + SCRATCH_ROOT
        os.mkdir(scratch)
        linux.mount("tmpfs", scratch, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, SCRATCH_TMPFS)
    finally:
        for fd, _ in sources:
            os.close(fd)
    os.chdir(NEW_ROOT)
    linux.pivot_root(".", ".")  # the old root ends up stacked under the new one ...
    linux.umount2(".", linux.MNT_DETACH)  # ... and is detached here
    os.chdir("/")
    flags = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV
    linux.mount(None, "/", None, flags)
    linux.sethostname("sandbox")
