"""How to restart libvirt's network daemon, if one runs.

virtnetworkd (modular daemons) or libvirtd (monolithic; Debian 12 and 13 ship the network
driver inside it) re-create every active network's rules with the configured backend when
they start. Through systemctl where there is one; anything else (a container, another init,
a daemon in a namespace) needs `--restart-command`.
"""

from __future__ import annotations

import os
import shlex

from vnetmigrate.collect.host import which
from vnetmigrate.errors import InputError

DAEMONS = ("virtnetworkd", "libvirtd")


def running() -> str | None:
    """The name of the first libvirt network daemon found running, or None."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    names = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                names.add(fh.read().strip())
        except OSError:
            continue
    return next((d for d in DAEMONS if d in names), None)


def restart_argv(command: str | None, no_restart: bool) -> tuple[list[str] | None, str]:
    """(argv or None, why) for the restart step."""
    if no_restart:
        return None, "--no-restart: libvirt's network daemon is not restarted (restart it yourself)"
    if command:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise InputError(f"--restart-command {command!r}: {exc}")
        if not argv:
            raise InputError("--restart-command is empty")
        return argv, "--restart-command"
    daemon = running()
    if daemon is None:
        return None, "no libvirt network daemon runs: nothing to restart"
    systemctl = which("systemctl")
    if systemctl is None or not os.path.isdir("/run/systemd/system"):
        raise InputError(f"{daemon} runs, but not under systemd: say how to restart it with "
                         "--restart-command CMD, or pass --no-restart")
    return [systemctl, "restart", daemon], f"{daemon} runs under systemd"
