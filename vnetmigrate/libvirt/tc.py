"""The tc commands libvirt 11.x's nftables backend runs to fix DHCP reply checksums.

nftablesAddUdpChecksumFixWithTC(), for *every* network with firewall rules (not only those
with DHCP), before any nft rule:

1. ``tc qdisc show dev BR handle 1:``; if the output has no ``1: root``, add a root qdisc
   (virNetDevBandWidthAddTxFilterParentQdisc) that filters can be attached to;
2. ``tc filter add dev BR prio 2 protocol ip parent 1: u32 match ip dport 68 ffff action
   csum ip and udp``.

The filter's ``del`` twin is the last item of the removal recipe; the qdisc is not removed
(it goes away with the bridge). The filter needs the kernel's act_csum
(CONFIG_NET_ACT_CSUM); without it the ``filter add`` fails and libvirt cannot start the
network with this backend.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable

from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.rules_common import bridge_of, failed_after_setup, firewalled
from vnetmigrate.libvirt.versions import Backend, LibvirtVersion, get_version

DHCP_CLIENT_PORT = 68


def qdisc_query(bridge: str) -> tuple[str, ...]:
    return ("qdisc", "show", "dev", bridge, "handle", "1:")


def qdisc_add(bridge: str) -> tuple[str, ...]:
    return ("qdisc", "add", "dev", bridge, "root", "handle", "1:", "htb", "default", "2")


def checksum_filter(bridge: str, action: str = "add") -> tuple[str, ...]:
    return ("filter", action, "dev", bridge, "prio", "2", "protocol", "ip", "parent", "1:",
            "u32", "match", "ip", "dport", str(DHCP_CLIENT_PORT), "ffff", "action", "csum", "ip", "and", "udp")


def tc_commands(networks: Iterable[Network], version: str | LibvirtVersion,
                root_qdisc_present: Container[str] = (), failed: Collection[str] = ()) -> list[tuple[str, ...]]:
    """The changing tc commands (argv without ``tc``), in libvirt's order.

    `root_qdisc_present` holds the bridges that already have a ``1:`` root qdisc (libvirt
    asks with qdisc_query() and then skips the add). Empty for versions without tc.
    A network named in `failed` whose start failed after its firewall was added (see
    rules_common.failed_after_setup) gets the filter deleted again - twice, as seen with
    11.3: once rolling back, once removing the network's firewall.
    """
    ver = get_version(version, Backend.NFTABLES)
    if ver.nft_checksum != "tc":
        return []
    out: list[tuple[str, ...]] = []
    for net in networks:
        late_failure = failed_after_setup(net, failed, ver)
        if not (net in firewalled([net], failed) or late_failure):
            continue
        br = bridge_of(net)
        if br not in root_qdisc_present:
            out.append(qdisc_add(br))
        out.append(checksum_filter(br))
        if late_failure:
            out += [checksum_filter(br, "del")] * 2
    return out


def tc_removal(networks: Iterable[Network], version: str | LibvirtVersion) -> list[tuple[str, ...]]:
    ver = get_version(version, Backend.NFTABLES)
    if ver.nft_checksum != "tc":
        return []
    return [checksum_filter(bridge_of(n), "del") for n in firewalled(networks)]
