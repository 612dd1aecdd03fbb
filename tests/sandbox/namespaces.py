"""Named network namespaces for the lab: unique names, owner records, commands inside, sweep.

Every namespace is called ``vnm-<role>-<pid>-<random>``: the pid (for people reading
`ip netns list`) is the creating process, the random part keeps two runs of the same pid
apart. /run/vnetmigrate-sandbox/<name>.json records the owner's pid and start time, written
before the namespace exists; the sweep trusts only that record (pid and start time, so pid
reuse cannot fool it). A `vnm-` namespace without a record is another tool's: never touched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence

from vnetmigrate.collect.host import which
from vnetmigrate.errors import EnvironmentProblem, InputError
from vnetmigrate.netns import NETNS_RUN_DIR, entered

PREFIX = "vnm-"
OWNER_DIR = "/run/vnetmigrate-sandbox"
_ROLE_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")


def _ip() -> str:
    exe = which("ip")
    if exe is None:
        raise EnvironmentProblem("iproute2's `ip` is not installed")
    return exe


def new_name(role: str) -> str:
    if not _ROLE_RE.match(role):
        raise InputError(f"bad lab namespace role {role!r}")
    return f"{PREFIX}{role}-{os.getpid()}-{secrets.token_hex(3)}"


def _start_time(pid: int) -> str | None:
    """The process start time in clock ticks (field 22 of /proc/PID/stat): pid-reuse proof."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_path(name: str) -> str:
    return os.path.join(OWNER_DIR, f"{name}.json")


def create(names: Sequence[str]) -> None:
    """Create namespaces (one `ip -batch` for all) and record this process as their owner."""
    os.makedirs(OWNER_DIR, mode=0o755, exist_ok=True)
    me = {"pid": os.getpid(), "start": _start_time(os.getpid()), "created": time.time()}
    # The record is written first: a crash between the two leaves a record without a
    # namespace (harmless, swept) rather than a namespace without a record.
    for name in names:
        with open(_owner_path(name), "w") as fh:
            json.dump(me, fh)
    ip_batch(None, [f"netns add {n}" for n in names])


def ip_batch(ns: str | None, lines: Iterable[str], force: bool = False) -> None:
    """Run iproute2 commands as one process (`ip [-n NS] -batch -`): a few ms for dozens."""
    argv = [_ip(), *(["-n", ns] if ns else []), *(["-force"] if force else []), "-batch", "-"]
    text = "".join(f"{line}\n" for line in lines)
    proc = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0 and not force:
        raise EnvironmentProblem(f"ip -batch failed in {ns or 'the root namespace'}: "
                                 f"{proc.stderr.strip()}\n--- batch ---\n{text}")


def exec_argv(ns: str, argv: Sequence[str]) -> list[str]:
    """argv that runs `argv` inside namespace `ns` (what a user would type, too)."""
    return [_ip(), "netns", "exec", ns, *argv]


def run(ns: str, argv: Sequence[str], *, input: str | None = None, check: bool = True,
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    exe = which(argv[0])
    if exe is None:
        raise EnvironmentProblem(f"{argv[0]} is not installed")
    proc = subprocess.run(exec_argv(ns, [exe, *argv[1:]]), input=input, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise EnvironmentProblem(f"`{' '.join(argv)}` failed in {ns} (exit {proc.returncode}): "
                                 f"{(proc.stderr or proc.stdout).strip()}")
    return proc


def sysctl(ns: str, key: str, value: str) -> None:
    """Write /proc/sys/KEY inside `ns` (per-thread setns: no process needed)."""
    path = "/proc/sys/" + key.replace(".", "/")
    with entered(ns):
        with open(path, "w") as fh:
            fh.write(value)


def pids(ns: str) -> list[int]:
    proc = subprocess.run([_ip(), "netns", "pids", ns], capture_output=True, text=True, timeout=10)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def kill_inside(ns: str, grace: float = 1.0) -> None:
    """Kill every process still inside `ns` (only lab processes live there), by pid."""
    victims = [p for p in pids(ns) if p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in victims:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while victims and time.monotonic() < deadline:
            victims = [p for p in victims if not _gone(p)]
            if victims:
                time.sleep(0.01)
        if not victims:
            return


def _gone(pid: int) -> bool:
    """Exited: no longer in /proc, or a zombie waiting for its parent to reap it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def delete(names: Iterable[str]) -> None:
    """Kill what runs inside, then remove the namespaces and their owner records."""
    names = list(names)
    present = [n for n in names if os.path.exists(os.path.join(NETNS_RUN_DIR, n))]
    for name in present:
        kill_inside(name)
    if present:
        ip_batch(None, [f"netns del {n}" for n in present], force=True)
    for name in names:  # also records of namespaces that were never created
        try:
            os.unlink(_owner_path(name))
        except FileNotFoundError:
            pass


def existing() -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_RUN_DIR) if n.startswith(PREFIX))
    except FileNotFoundError:
        return []


def owner(name: str) -> tuple[int, str | None] | None:
    """(pid, start time or None) of the process that created `name`, or None if unknown."""
    try:
        with open(_owner_path(name)) as fh:
            rec = json.load(fh)
        return int(rec["pid"]), rec.get("start")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def owned_by(pid: int) -> list[str]:
    return [n for n in existing() if (o := owner(n)) is not None and o[0] == pid]


def _alive(pid: int, start: str | None) -> bool:
    now = _start_time(pid)
    return now is not None and (start is None or now == start)


def sweep() -> list[str]:
    """Remove `vnm-*` namespaces whose creating process is dead; return their names."""
    stale = [n for n in existing() if (o := owner(n)) is not None and not _alive(*o)]
    delete(stale)
    # Records whose namespace is already gone (a crash after `ip netns del`) go too.
    try:
        for entry in os.listdir(OWNER_DIR):
            name = entry.removesuffix(".json")
            if name.startswith(PREFIX) and not os.path.exists(os.path.join(NETNS_RUN_DIR, name)):
                if (o := owner(name)) is None or not _alive(*o):
                    os.unlink(os.path.join(OWNER_DIR, entry))
    except FileNotFoundError:
        pass
    return stale
