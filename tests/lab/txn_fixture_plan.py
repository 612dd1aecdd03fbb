"""A migration plan built from the lab's rule fixtures (not from libvirt's model).

It has the shape of a real iptables -> nftables migration — make (both libvirt_network
tables in one libnftables batch), verify, break (the LIBVIRT_* chains and their jumps, per
family, one iptables-nft-restore each), switch network.conf — so the engine's zero-loss
behaviour can be proven with packets independently of the model.
"""

from __future__ import annotations

from pathlib import Path

from tests.sandbox import fixtures
from vnetmigrate.txn import build, steps

NEW_CONF = 'firewall_backend = "nftables"\n'
OLD_CONF = 'firewall_backend = "iptables"\n'
LIBVIRT_CHAINS = {"filter": ("LIBVIRT_INP", "LIBVIRT_OUT", "LIBVIRT_FWX", "LIBVIRT_FWI", "LIBVIRT_FWO"),
                  "nat": ("LIBVIRT_PRT",), "mangle": ("LIBVIRT_PRT",)}
# The built-in chains that jump to libvirt's chains in the fixture.
JUMPING_BUILTINS = {"filter": ("INPUT", "FORWARD", "OUTPUT"), "nat": ("POSTROUTING",), "mangle": ("POSTROUTING",)}


def nft_commands(lab, text: str) -> list[dict]:
    """The fixture's nft text as libnftables JSON: loaded in a scratch copy of the host's bridges.

    Deleting the scratch namespace makes the kernel's next NAT-hook registration anywhere
    wait ~1.6 s (see HACKING.md): timing code converts once, then waits.
    """
    from vnetmigrate.netns import entered
    from tests.sandbox import namespaces
    from vnetmigrate.txn import snapshot

    scratch = namespaces.new_name("scratch")
    namespaces.create([scratch])
    try:
        namespaces.ip_batch(scratch, [f"link add {n.bridge} type bridge" for n in lab.networks])
        lab.nft(text, ns=scratch)
        with entered(scratch):
            objects = [o for fam in ("ip", "ip6") for o in snapshot.nft_table(fam, "libvirt_network") or []]
    finally:
        namespaces.delete([scratch])
    return build.nft_replay(objects)


def removal(lab, family: int) -> tuple[str, list[tuple[str, str]]]:
    fragments, chains = [], []
    for table, names in LIBVIRT_CHAINS.items():
        builtins = {b: lab.iptables("-t", table, "-S", b, family=family).stdout.splitlines()
                    for b in JUMPING_BUILTINS[table]}
        rules = {n: lab.iptables("-t", table, "-S", n, family=family).stdout.splitlines() for n in names}
        fragments.append(build.ipt_chain_removal(table, rules, builtins))
        chains += [(table, n) for n in names]
    return "".join(fragments), chains


def plan(lab, root: Path, commands: list[dict] | None = None) -> steps.Plan:
    per_net = len(lab.networks)
    if commands is None:
        commands = nft_commands(lab, fixtures.libvirt_nftables([n.pair for n in lab.networks]))
    v4, v4_chains = removal(lab, 4)
    v6, v6_chains = removal(lab, 6)
    return steps.Plan("lab migration to nftables (fixture rules)", (
        steps.nft("add libvirt_network tables", commands, [("ip", "libvirt_network"), ("ip6", "libvirt_network")]),
        steps.verify("nftables rules present", "nft-rule-counts", table="ip libvirt_network",
                     chains={"guest_nat": 5 * per_net, "guest_output": 2 * per_net}),
        steps.ipt("remove libvirt's iptables rules (ipv4)", "ipv4", v4, v4_chains),
        steps.ipt("remove libvirt's ip6tables rules (ipv6)", "ipv6", v6, v6_chains),
        steps.file("network.conf: nftables", "/etc/libvirt/network.conf", NEW_CONF, OLD_CONF),
    ))
