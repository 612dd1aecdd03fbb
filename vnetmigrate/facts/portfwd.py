"""Port forwards into libvirt guests: DNAT to a guest address, in iptables, nftables or hook scripts.

Under libvirt's nftables backend a new connection DNATed to a guest on a NAT network meets
`guest_input`'s reject, which is final (docs/libvirt-rules.md §3); under the iptables backend an
ACCEPT placed before the LIBVIRT_FWI jump let it through.
"""

from __future__ import annotations

import ipaddress
import re

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import LIBVIRT_HOOKS, LIBVIRT_NETWORK_HOOKS, LIBVIRT_QEMU_HOOKS
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.facts.libvirt import LibvirtFacts
from vnetmigrate.rules.nft import Nat
from vnetmigrate.rules.nft_ruleset import NftRuleset

HOOK_DIRS = (LIBVIRT_HOOKS, LIBVIRT_QEMU_HOOKS, LIBVIRT_NETWORK_HOOKS)
_HOOK_LINE = re.compile(r"\b(ip6?tables(-nft|-legacy)?)\b.*(DNAT|-j\s+ACCEPT|--to-destination)")


@dataclass(frozen=True)
class PortForward:
    """A port forward to a guest found in the rules."""
    where: str
    text: str
    destination: str | None  # guest address, when known
    network: str | None  # the libvirt network whose subnet holds it
    source: str  # "iptables", "nftables" or "hook"


def _network_of(addr: str, lv: LibvirtFacts) -> str | None:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return None
    for net in lv.networks:
        if any(ip in ipaddress.ip_network(s) for s in net.subnets):
            return net.name
    return None


def _addr_of(dest: str) -> str:
    dest = dest.split("-")[0]  # a range: its first address
    if dest.startswith("["):
        return dest[1:].split("]")[0]
    return dest.rsplit(":", 1)[0] if dest.count(":") == 1 else dest


def build(ev: Evidence, lv: LibvirtFacts, saves: list[IptablesSave], nft: NftRuleset | None) -> tuple[PortForward, ...]:
    out = []
    for save in saves:
        nat = save.table("nat")
        for chain in nat.chains if nat else ():
            for r in chain.rules:
                dest = r.option("--to-destination")[0]
                if r.target == "DNAT" and dest and (net := _network_of(_addr_of(dest), lv)):
                    out.append(PortForward(r.where(), r.text, _addr_of(dest), net, "iptables"))
    for chain in nft.chains() if nft else ():
        for r in chain.rules or ():
            for st in r.stmts:
                addr = st.addr if isinstance(st, Nat) and st.kind == "dnat" else None
                if isinstance(addr, str) and (net := _network_of(addr, lv)):
                    out.append(PortForward(r.where(), r.text, addr, net, "nftables"))
    for directory in HOOK_DIRS:
        for rec in ev.files_in(directory):
            for n, line in enumerate((rec.content or "").splitlines(), 1):
                if not line.lstrip().startswith("#") and _HOOK_LINE.search(line):
                    out.append(PortForward(f"{rec.path}:{n}", line.strip(), None, None, "hook"))
    return tuple(out)
