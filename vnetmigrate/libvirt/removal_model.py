"""The removal recipe libvirt >= 10.4 will save for each network, predicted from the model.

libvirt builds it with virFirewallNewFromRollback(): the rollback commands of each add
transaction, last transaction first, each transaction's commands in reverse order, every
group with ignoreErrors='yes'.

- iptables: each rule's argv with ``--insert`` replaced by ``--delete``; the ignore-errors
  CHECKSUM transaction comes first as its own group (no group when the network has no
  CHECKSUM rule).
- nftables: ``delete rule FAMILY libvirt_network CHAIN handle N`` for every rule, then the
  tc filter ``del``. Handles come from a per-table counter shared by chains and rules; on a
  fresh host the 8 setup objects (5 chains, 3 jumps) take 1-8, so the first network's first
  rule in each family is handle 9. Pass `next_handles` when the tables already exist.

Comparing a status file's recipe with this prediction shows whether the rules libvirt
recorded are the ones the model expects (and so whether the model still fits that host).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vnetmigrate.firewall import Family
from vnetmigrate.libvirt.fwremoval import RemovalAction, RemovalGroup, RemovalRecipe
from vnetmigrate.libvirt.iptables_rules import network_rules as ipt_network_rules
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.nft_rules import FAMILIES, PRIVATE_CHAINS, TABLE
from vnetmigrate.libvirt.nft_rules import network_rules as nft_network_rules
from vnetmigrate.libvirt.rules_common import bridge_of, firewalled
from vnetmigrate.libvirt.tc import checksum_filter
from vnetmigrate.libvirt.versions import Backend, LibvirtVersion, as_backend, get_version

# 5 chains + 3 jump rules created by the private-chain setup on a fresh host.
FIRST_RULE_HANDLE = len(PRIVATE_CHAINS) + sum(1 for _c, parent, _b in PRIVATE_CHAINS if parent) + 1


def iptables_removal(net: Network, version: LibvirtVersion) -> RemovalRecipe:
    rules = ipt_network_rules(net, version)
    groups = []
    checksum = [r for r in rules if r.ignore_errors]
    main = [r for r in rules if not r.ignore_errors]
    for part in (checksum, main):
        if part:
            actions = tuple(RemovalAction(Family.of_version(r.family).value, r.argv("--delete"))
                            for r in reversed(part))
            groups.append(RemovalGroup(True, actions))
    return RemovalRecipe(Backend.IPTABLES, tuple(groups))


def expected_removals(networks: Iterable[Network], version: str | LibvirtVersion, backend: Backend | str,
                      next_handles: Mapping[str, int] | None = None) -> dict[str, RemovalRecipe]:
    """Network name -> the recipe libvirt would save, for networks started in this order."""
    be = as_backend(backend)
    ver = get_version(version, be)
    if not ver.removal_recipe:
        return {}
    nets = firewalled(networks)
    if be is Backend.IPTABLES:
        return {n.name: iptables_removal(n, ver) for n in nets}
    handles = {fam: (next_handles or {}).get(fam, FIRST_RULE_HANDLE) for fam in FAMILIES}
    out = {}
    for net in nets:
        actions = []
        for rule in nft_network_rules(net, ver):
            handle = handles[rule.family]
            handles[rule.family] += 1
            actions.append(RemovalAction(Family.of_nft(rule.family).value, (
                "delete", "rule", rule.family, TABLE, rule.chain, "handle", str(handle))))
        actions.reverse()
        if ver.nft_checksum == "tc":
            actions.append(RemovalAction("tc", checksum_filter(bridge_of(net), "del")))
        out[net.name] = RemovalRecipe(Backend.NFTABLES, (RemovalGroup(True, tuple(actions)),))
    return out
