"""How to restart libvirt's network daemon, if one runs.

virtnetworkd (modular daemons) or libvirtd (monolithic; Debian 12 and 13 ship the network
driver inside it) re-create every active network's rules with the configured backend when
they start. Through systemctl where there is one; anything else (a container, another init,
a daemon in a namespace) needs `--restart-command`.
"""

from __future__ import annotations

import os
import shlex

from vnetmigrate.programs import which
from vnetmigrate.errors import InputError

DAEMONS = ("virtnetworkd", "libvirtd")


def running(netns: str | None = None) -> str | None:
    """The name of the first libvirt network daemon running in `netns` (None: ours), or None.

    Daemons in other network namespaces (containers, test peers) manage other firewalls.
    """
    try:
        here = os.stat(f"/run/netns/{netns}" if netns else "/proc/self/ns/net").st_ino
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    names = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                name = fh.read().strip()
            if name in DAEMONS and os.stat(f"/proc/{pid}/ns/net").st_ino == here:
                names.add(name)
        except OSError:
            continue
    return next((d for d in DAEMONS if d in names), None)


def command_argv(command: str) -> list[str]:
    """`--restart-command`, split as a shell would, its program found and executable.

    Checked before anything changes: a restart command that cannot even start would fail a
    migration after its rules were moved, and every rollback after that. The program is
    recorded by its full path, so the journal names exactly what runs.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputError(f"--restart-command {command!r}: {exc}")
    if not argv:
        raise InputError("--restart-command is empty")
    program = argv[0] if "/" in argv[0] else which(argv[0])
    if program is None:
        raise InputError(f"--restart-command {command!r}: {argv[0]!r} is not found in PATH")
    if not os.path.isfile(program) or not os.access(program, os.X_OK):
        raise InputError(f"--restart-command {command!r}: {program} is not an executable file")
    return [os.path.abspath(program), *argv[1:]]


def restart_argv(command: str | None, no_restart: bool, netns: str | None = None) -> tuple[list[str] | None, str]:
    """(argv or None, why) for the restart step."""
    if no_restart:
        return None, "--no-restart: libvirt's network daemon is not restarted (restart it yourself)"
    if command:
        return command_argv(command), "--restart-command"
    daemon = running(netns)
    if daemon is None:
        return None, "no libvirt network daemon runs: nothing to restart"
    systemctl = which("systemctl")
    if systemctl is None or not os.path.isdir("/run/systemd/system"):
        raise InputError(f"{daemon} runs, but not under systemd: say how to restart it with "
                         "--restart-command CMD, or pass --no-restart")
    return [systemctl, "restart", daemon], f"{daemon} runs under systemd"
