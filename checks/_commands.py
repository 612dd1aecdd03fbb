"""Exact commands for workarounds, built from validated names only."""

from __future__ import annotations

import json
import shlex

from vnetmigrate.firewall import Backend, Family
from vnetmigrate.libvirt import netconf


def iptables_binary(family: str, source: str = "nft") -> str:
    """The iptables variant that manages a table: the explicit binary, never an alternative."""
    base = Family(family).iptables
    return f"{base}-legacy" if source == "legacy" else f"{base}-nft"


def quote_args(args: tuple[str, ...] | list[str]) -> str:
    return " ".join(a if a == "!" else shlex.quote(a) for a in args)


# One file for IPv4 forwarding at boot, whichever finding asks for it, so following two
# findings' workarounds leaves one file, not two that disagree later.
SYSCTL_FORWARD_FILE = "/etc/sysctl.d/90-libvirt-forward.conf"


def forwarding_at_boot() -> str:
    return f"echo 'net.ipv4.ip_forward = 1' > {SYSCTL_FORWARD_FILE}"


def json_file_set(path: str, key: str, value: object) -> str:
    """Set one key of a JSON file (created when absent) with python3, which every host running
    vnetmigrate has: jq is often not installed."""
    script = (f"import json, os; p = {json.dumps(path)}; d = json.load(open(p)) if os.path.exists(p) else {{}}; "
              f"d[{json.dumps(key)}] = {value!r}; open(p, 'w').write(json.dumps(d, indent=2) + chr(10))")
    return f"python3 -c {shlex.quote(script)}"


def restart_libvirt_network() -> str:
    # virtnetworkd on modular daemons (Fedora, Debian 13); libvirtd on monolithic set-ups.
    return ("systemctl restart virtnetworkd.service 2>/dev/null || systemctl restart libvirtd.service")


def pin_backend(backend: Backend) -> str:
    """Set firewall_backend in network.conf: every active assignment (libvirt reads the first),
    indented ones included, or a new line when there is none."""
    setting = r"^[[:space:]]*firewall_backend[[:space:]]*="
    return (f"if grep -Eqs '{setting}' {netconf.PATH}; "
            f"then sed -i -E 's/{setting}.*/firewall_backend = \"{backend}\"/' {netconf.PATH}; "
            f"else echo 'firewall_backend = \"{backend}\"' >> {netconf.PATH}; fi")
