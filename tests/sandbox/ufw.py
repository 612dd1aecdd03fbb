"""ufw, really running, inside a lab's host namespace, with its files kept private.

ufw reads and writes /etc/ufw and /etc/default/ufw and locks /run/ufw.lock; it has no option
to use other paths. So every ufw command runs in a private mount namespace (`unshare
--mount`) where a copy of those files under the lab's temp dir is bind-mounted over the
machine's, and a tmpfs covers /run, entered into the lab's network namespace (`nsenter
--net`): the machine's /etc, /run and firewall are never touched (the bind targets must exist,
so ufw must be installed). The copy starts from the package's pristine templates in
/usr/share/ufw, not from the machine's possibly edited /etc/ufw.

The lab's /etc/default/ufw has Debian's defaults (input and forward DROP) except
`IPT_SYSCTL=` (empty): ufw would otherwise apply /etc/ufw/sysctl.conf, and not every sysctl
is per network namespace on every kernel.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess

from vnetmigrate.collect.host import which
from vnetmigrate.errors import EnvironmentProblem
from vnetmigrate.netns import NETNS_RUN_DIR

TEMPLATES = "/usr/share/ufw"
DEFAULTS = """# /etc/default/ufw of a vnetmigrate lab (Debian's defaults, IPT_SYSCTL emptied)
IPV6=yes
DEFAULT_INPUT_POLICY="DROP"
DEFAULT_OUTPUT_POLICY="ACCEPT"
DEFAULT_FORWARD_POLICY="DROP"
DEFAULT_APPLICATION_POLICY="SKIP"
MANAGE_BUILTINS=no
IPT_SYSCTL=
IPT_MODULES=""
"""


def missing() -> str | None:
    """Why ufw cannot run in a lab here, or None."""
    for tool in ("ufw", "unshare", "nsenter", "mount"):
        if which(tool) is None:
            return f"{tool} is not installed"
    for path in ("/etc/ufw", "/etc/default/ufw", f"{TEMPLATES}/iptables/before.rules"):
        if not os.path.exists(path):
            return f"{path} is missing (is the ufw package installed?)"
    return None


class LabUfw:
    """ufw for one lab host namespace; its files live in `directory` (the lab's temp dir)."""

    def __init__(self, ns: str, directory: str):
        self.ns = ns
        self.etc = os.path.join(directory, "etc-ufw")
        self.default = os.path.join(directory, "default-ufw")
        os.makedirs(os.path.join(self.etc, "applications.d"), exist_ok=True)
        for src in glob.glob(f"{TEMPLATES}/iptables/*.rules") + [f"{TEMPLATES}/{n}" for n in
                                                                ("ufw.conf", "before.init", "after.init")]:
            shutil.copy(src, self.etc)
        with open(self.default, "w") as fh:
            fh.write(DEFAULTS)

    def _script(self, args: str) -> str:
        """The shell command that runs ufw with `args` (shell words) confined to the lab."""
        # The system's ufw, never a wrapper put first on PATH (wrapper() below).
        real = shutil.which("ufw", path="/usr/sbin:/usr/bin:/sbin:/bin") or "ufw"
        inner = f'mount -t tmpfs tmpfs /run && exec {shlex.quote(real)} "$@"'
        return (f"mount --bind {shlex.quote(self.etc)} /etc/ufw && "
                f"mount --bind {shlex.quote(self.default)} /etc/default/ufw && "
                f"exec nsenter --net={shlex.quote(os.path.join(NETNS_RUN_DIR, self.ns))} sh -c {shlex.quote(inner)} "
                f"ufw {args}")

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`ufw ARGS` as root of the lab host, e.g. run("--force", "enable")."""
        script = self._script(shlex.join(args))
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise EnvironmentProblem(f"`ufw {' '.join(args)}` failed in {self.ns} (exit {proc.returncode}): "
                                     f"{(proc.stderr or proc.stdout).strip()}")
        return proc

    def wrapper(self, directory: str) -> str:
        """An executable `ufw` in `directory` that runs `ufw "$@"` confined like run(): put it first
        on PATH and a program that runs `ufw` (vnetmigrate repair's command steps) changes this
        lab's ufw, never the machine's."""
        path = os.path.join(directory, "ufw")
        script = self._script('"$@"').replace("'", "'\\''")
        with open(path, "w") as fh:
            fh.write("#!/bin/sh\n# ufw confined to a vnetmigrate lab (tests/sandbox/ufw.py)\n"
                     f"exec unshare --mount --propagation private -- sh -c '{script}' ufw \"$@\"\n")
        os.chmod(path, 0o755)
        return path

    def files(self) -> dict[str, str]:
        """The ufw files as a scanned host holds them: {"/etc/ufw/NAME": text, "/etc/default/ufw": text}."""
        out = {}
        for name in sorted(os.listdir(self.etc)):
            path = os.path.join(self.etc, name)
            if os.path.isfile(path):
                with open(path) as fh:
                    out[f"/etc/ufw/{name}"] = fh.read()
        with open(self.default) as fh:
            out["/etc/default/ufw"] = fh.read()
        return out
