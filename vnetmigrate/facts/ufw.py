"""ufw: enabled or not, default policies, and whether its rules already let libvirt's bridges in."""

from __future__ import annotations

import shlex
from dataclasses import field

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import UFW_CONF, UFW_DEFAULTS, UFW_USER_RULES
from vnetmigrate.rules.iptables import split_words
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.errors import InputError


@dataclass(frozen=True)
class UfwFacts:
    """ufw's installation, configuration and live chains."""
    installed: bool
    enabled: bool  # ENABLED=yes in ufw.conf
    live: bool  # its chains exist in the kernel now
    default_input: str | None
    default_forward: str | None
    conf_line: int | None  # line of ENABLED= in ufw.conf
    policy_lines: dict[str, int] = field(default_factory=dict)  # key -> line in /etc/default/ufw
    allow_in: frozenset[str] = frozenset()  # `ufw allow in on BR`
    route_in: frozenset[str] = frozenset()  # `ufw route allow in on BR`
    route_out: frozenset[str] = frozenset()  # `ufw route allow out on BR`

    @property
    def active(self) -> bool:
        return self.enabled or self.live


def _shell_vars(text: str | None) -> dict[str, tuple[str, int]]:
    out = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            try:
                words = shlex.split(value)
            except ValueError:
                words = [value.strip("\"'")]
            out[key.strip()] = (words[0] if words else "", n)
    return out


def _allows(text: str | None) -> tuple[set[str], set[str], set[str]]:
    allow_in, route_in, route_out = set(), set(), set()
    for line in (text or "").splitlines():
        if not line.startswith("-A ufw-user-"):
            continue
        try:
            words = split_words(line, "ufw user.rules")
        except InputError:
            continue
        if words[-2:] != ["-j", "ACCEPT"] or len(words) != 6:
            continue  # only whole-interface allows count here, not port-specific ones
        chain, flag, iface = words[1], words[2], words[3]
        if chain == "ufw-user-input" and flag == "-i":
            allow_in.add(iface)
        elif chain == "ufw-user-forward" and flag == "-i":
            route_in.add(iface)
        elif chain == "ufw-user-forward" and flag == "-o":
            route_out.add(iface)
    return allow_in, route_in, route_out


def build(ev: Evidence, saves: list[IptablesSave], tools: dict[str, str | None]) -> UfwFacts:
    conf = _shell_vars(ev.text(UFW_CONF))
    defaults = _shell_vars(ev.text(UFW_DEFAULTS))
    live = any(c.name.startswith("ufw-") or c.name.startswith("ufw6-") for s in saves for c in s.chains())
    allow_in, route_in, route_out = _allows(ev.text(UFW_USER_RULES))
    enabled = conf.get("ENABLED", ("no", 0))[0].lower() == "yes"
    return UfwFacts(
        installed=bool(tools.get("ufw")) or ev.text(UFW_CONF) is not None,
        enabled=enabled, live=live,
        default_input=defaults.get("DEFAULT_INPUT_POLICY", (None, 0))[0],
        default_forward=defaults.get("DEFAULT_FORWARD_POLICY", (None, 0))[0],
        conf_line=conf.get("ENABLED", (None, None))[1],
        policy_lines={k: v[1] for k, v in defaults.items() if k.startswith("DEFAULT_")},
        allow_in=frozenset(allow_in), route_in=frozenset(route_in), route_out=frozenset(route_out))
