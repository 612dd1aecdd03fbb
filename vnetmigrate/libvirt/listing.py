"""What the kernel lists after libvirt started the given networks on a fresh host.

Rules are inserted at the head of their chain, so a chain lists them in reverse order of
addition: the network started last first. These functions give that final state, per chain,
for comparing with live listings (ownership, verification) and with recordings:

- ``expected_iptables(networks, version)``: {(family, table, chain): [IptRule, ...]}, listing
  order, including the jumps from the built-in chains;
- ``expected_nft(networks, version)``: {(family, chain): [NftRule, ...]}, listing order;
- ``nft_listing_text(networks, version)``: the ``libvirt_network`` tables exactly as
  ``nft list ruleset`` prints them with counters stripped (``counter packets N bytes M`` ->
  ``counter``): nft shows a /32 (/128) prefix as a plain address and ``ct state`` flags in
  kernel bit order (established before related), and names priorities (0 -> filter,
  100 on a nat postrouting hook -> srcnat).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from vnetmigrate.libvirt.iptables_restore import all_rules
from vnetmigrate.libvirt.iptables_rules import PRIVATE_CHAINS as IPT_CHAINS
from vnetmigrate.libvirt.iptables_rules import IptRule
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.nft_commands import command_list
from vnetmigrate.libvirt.nft_rules import FAMILIES, PRIVATE_CHAINS, TABLE, NftRule
from vnetmigrate.libvirt.rules_common import private_setup
from vnetmigrate.libvirt.versions import Backend, get_version
from vnetmigrate.rules.nft import as_listed, render

_PRIORITY_NAMES = {("filter", 0): "filter", ("nat", 100): "srcnat", ("nat", -100): "dstnat"}


def expected_iptables(networks: Iterable[Network], version,
                      failed: Collection[str] = ()) -> dict[tuple[int, str, str], list[IptRule]]:
    nets = list(networks)
    ver = get_version(version, Backend.IPTABLES)
    out: dict[tuple[int, str, str], list[IptRule]] = {}
    if not private_setup(nets, failed, ver):
        return out
    for fam in (4, 6):
        for table, parent, child in IPT_CHAINS:
            out.setdefault((fam, table, child), [])
            out.setdefault((fam, table, parent), []).insert(0, IptRule(fam, table, parent, ("-j", child)))
    for rule in all_rules(nets, ver, failed):
        out[(rule.family, rule.table, rule.chain)].insert(0, rule)
    return out


def expected_nft(networks: Iterable[Network], version,
                 failed: Collection[str] = ()) -> dict[tuple[str, str], list[NftRule]]:
    out: dict[tuple[str, str], list[NftRule]] = {}
    for cmd in command_list(networks, version, failed=failed):
        if cmd.kind == "chain":
            out[(cmd.family, cmd.chain)] = []
        elif cmd.kind == "rule" and cmd.rule is not None:
            out[(cmd.family, cmd.rule.chain)].insert(0, cmd.rule)
    return out


def listed_rule_text(rule: NftRule) -> str:
    """The rule as `nft list` prints it, counter values stripped (`rules.nft.as_listed`)."""
    return render((as_listed(e) for e in rule.exprs), counters=True)


def nft_listing_text(networks: Iterable[Network], version, failed: Collection[str] = ()) -> str:
    chains = expected_nft(networks, version, failed)
    if not chains:
        return ""
    comment = get_version(version, Backend.NFTABLES).nft_table_comment
    head = f'\tcomment "{comment}"\n' if comment else ""
    out = []
    for fam in FAMILIES:
        blocks = []
        for name, _parent, base in PRIVATE_CHAINS:
            lines = [f"\tchain {name} {{"]
            if base is not None:
                prio = _PRIORITY_NAMES.get((base.type, base.priority), str(base.priority))
                lines.append(f"\t\ttype {base.type} hook {base.hook} priority {prio}; policy {base.policy};")
            lines += [f"\t\t{listed_rule_text(r)}" for r in chains[(fam, name)]]
            lines.append("\t}")
            blocks.append("\n".join(lines))
        out.append(f"table {fam} {TABLE} {{\n" + head + "\n\n".join(blocks) + "\n}")
    return "\n".join(out) + "\n"
