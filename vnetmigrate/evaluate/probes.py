"""The traffic of libvirt's bridges, as packets to evaluate: per active network that gets rules.

- dhcp: a guest's DHCP request to the host (input hook, from 0.0.0.0 to 255.255.255.255);
- dns-udp / dns-tcp: a guest's query to the bridge address (input hook);
- forward-*: a guest's new connection to the outside (forward hook, out through the uplink);
- reply-*: the outside's replies to it (forward hook, conntrack established);
- port-forward: a new connection DNATed to a guest (forward hook, ct status dnat), per DNAT found.

The uplink is "any interface that is not one of these bridges, lo, or another VM/container
bridge" unless the network names its `<forward dev=...>`; the outside is a documentation
address (198.51.100.1 / 2001:db8::1) standing for any remote host; a guest is the subnet's
tenth address. A verdict that depends on which uplink or port is used comes out unknown.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import field

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evaluate.packet import EPHEMERAL, Iface, Packet
from vnetmigrate.firewall import Family

INPUT = ("prerouting", "input")
FORWARD = ("prerouting", "forward", "postrouting")
REMOTE = {"ip": "198.51.100.1", "ip6": "2001:db8::1"}
NEW = {"dnat": False, "snat": False, "seen-reply": False}


@dataclass(frozen=True)
class Probe:
    """A packet a guest of one network would send or receive, and what should happen to it."""
    id: str  # "default/forward-tcp"
    network: str
    bridge: str
    kind: str  # dhcp, dns-udp, dns-tcp, forward-tcp, ..., port-forward
    description: str
    packet: Packet
    source: str | None = field(default=None, compare=False)  # e.g. the DNAT rule a port-forward probe stands for

    @property
    def direction(self) -> str:
        """What a fix must allow: "in" (to the host), "out" (guest-initiated), "back", "dnat"."""
        if self.kind.startswith(("dhcp", "dns")):
            return "in"
        return {"forward": "out", "reply": "back"}.get(self.kind.split("-")[0], "dnat")


@dataclass(frozen=True)
class Ports:
    """The destination ports the probes use."""
    tcp: int = 443
    udp: int = 123


_SYN, _SYN_ACK = frozenset({"syn"}), frozenset({"syn", "ack"})  # one of each for 4,500 packets at 500 networks


@functools.lru_cache(maxsize=64)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A fixed address of the probes (the same for every network), parsed once."""
    return ipaddress.ip_address(text)


def guest_address(subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(_guest(subnet))


def _guest(subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return subnet[10] if subnet.num_addresses > 12 else subnet[-2]


def network_probes(net, bridges: tuple[str, ...], remote: dict[str, str] | None = None,
                   ports: Ports = Ports(), guests: dict[str, str] | None = None) -> list[Probe]:
    """Probes for one `NetworkSummary`; `guests` overrides the guest address per family."""
    remote = {**REMOTE, **(remote or {})}
    out: list[Probe] = []
    if not net.creates_rules or not net.bridge:
        return out
    br = Iface.named(net.bridge)
    up = Iface.named(net.forward_dev) if net.forward_dev else Iface.uplink(bridges)
    forwards = net.forward_mode in ("nat", "route")
    for iface in (ipaddress.ip_interface(a) for a in net.bridge_addresses):
        fam = Family.of_version(iface.version).nft
        given = (guests or {}).get(fam)
        guest = ipaddress.ip_address(given) if given else _guest(iface.network)
        far, gw = _address(remote[fam]), iface.ip
        eph, icmp = EPHEMERAL, ("icmp" if fam == "ip" else "ipv6-icmp")
        # formatted once: every description names them (500 networks: 4,500 descriptions)
        guest_s, far_s, gw_s, up_s = str(guest), str(far), str(gw), str(up)

        six = "" if fam == "ip" else "6"

        def probe(kind, text, **pk):
            return Probe(f"{net.name}/{kind}{six}", net.name, net.bridge, kind, text, Packet(family=fam, **pk))
        if fam == "ip":
            out.append(probe("dhcp", f"DHCP request from a guest on {net.bridge}", hooks=INPUT, iif=br, oif=None,
                             saddr=_address("0.0.0.0"), daddr=_address("255.255.255.255"),
                             l4proto="udp", sport=(68, 68), dport=(67, 67), ct_status=dict(NEW),
                             saddr_type=None, daddr_type="broadcast", pkttype="broadcast"))
        else:
            out.append(probe("dhcp", f"DHCPv6 request from a guest on {net.bridge}", hooks=INPUT, iif=br, oif=None,
                             saddr=_address("fe80::5054:ff:fe00:1"), daddr=_address("ff02::1:2"),
                             l4proto="udp", sport=(546, 546), dport=(547, 547), ct_status=dict(NEW),
                             daddr_type="multicast", pkttype="multicast"))
        for proto in ("udp", "tcp"):
            out.append(probe(f"dns-{proto}", f"DNS ({proto}) from guest {guest_s} to {gw_s} on {net.bridge}", hooks=INPUT,
                             iif=br, oif=None, saddr=guest, daddr=gw, l4proto=proto, sport=eph, dport=(53, 53),
                             ct_status=dict(NEW), daddr_type="local",
                             tcp_flags=_SYN if proto == "tcp" else None))
        if not forwards:
            continue
        snat = net.forward_mode == "nat" and fam == "ip"
        for proto, port in (("tcp", ports.tcp), ("udp", ports.udp), (icmp, None)):
            short = "icmp" if proto == icmp else proto
            l4 = dict(sport=eph, dport=(port, port)) if port else dict(icmp_type="echo-request")
            out.append(probe(f"forward-{short}", f"new {short} from guest {guest_s} on {net.bridge} to {far_s} "
                             f"via {up_s}", hooks=FORWARD, iif=br, oif=up, saddr=guest, daddr=far, l4proto=proto,
                             ct_status=dict(NEW), tcp_flags=_SYN if proto == "tcp" else None, **l4))
            back = dict(sport=(port, port), dport=eph) if port else dict(icmp_type="echo-reply")
            out.append(probe(f"reply-{short}", f"{short} reply from {far_s} via {up_s} to guest {guest_s} on "
                             f"{net.bridge}", hooks=FORWARD, iif=up, oif=br, saddr=far, daddr=guest, l4proto=proto,
                             ct_state="established", ct_direction="reply",
                             ct_status={"dnat": False, "snat": snat, "seen-reply": True},
                             tcp_flags=_SYN_ACK if proto == "tcp" else None, **back))
    return out


_DEST = re.compile(r"(?:--to-destination|dnat (?:ip6? )?to)\s+\[?([0-9a-fA-F.:]+?)\]?(?::(\d+))?(?:\s|$)")
_PROTO = re.compile(r"(?:-p|meta l4proto|ip protocol)\s+(tcp|udp)|\b(tcp|udp) dport")


def port_forward_probe(net, pf, bridges: tuple[str, ...], remote: dict[str, str] | None = None) -> Probe | None:
    """A new connection from the outside DNATed to `pf.destination` (facts.port_forwards)."""
    if not net.bridge or pf.destination is None:
        return None
    dest = ipaddress.ip_address(pf.destination)
    fam = Family.of_version(dest.version).nft
    m, p = _DEST.search(pf.text), _PROTO.search(pf.text)
    port = int(m.group(2)) if m and m.group(2) else _orig_port(pf.text)
    proto = (p.group(1) or p.group(2)) if p else "tcp"
    far = ipaddress.ip_address({**REMOTE, **(remote or {})}[fam])
    up = Iface.named(net.forward_dev) if net.forward_dev else Iface.uplink(bridges)
    pkt = Packet(family=fam, hooks=FORWARD, iif=up, oif=Iface.named(net.bridge), saddr=far, daddr=dest,
                 l4proto=proto, sport=EPHEMERAL, dport=(port, port) if port else (1, 65535),
                 ct_status={"dnat": True, "snat": False, "seen-reply": False},
                 tcp_flags=frozenset({"syn"}) if proto == "tcp" else None)
    shown = f"{dest}:{port}" if port else str(dest)
    return Probe(f"{net.name}/port-forward-{shown}", net.name, net.bridge, "port-forward",
                 f"new {proto} connection from {far} via {up}, DNATed to guest {shown} on {net.bridge}", pkt,
                 source=f"{pf.where}: {pf.text}")


def _orig_port(text: str) -> int | None:
    m = re.search(r"(?:--dport|dport)\s+(\d+)(?:\s|$)", text)
    return int(m.group(1)) if m else None


def host_probes(facts, remote: dict[str, str] | None = None, ports: Ports = Ports()) -> list[Probe]:
    """Every probe for the host's active networks (facts.libvirt) and port forwards."""
    lv = facts.libvirt
    nets = [n for n in (lv.active_networks if lv else ()) if n.creates_rules and n.bridge]
    bridges = tuple(sorted({n.bridge for n in nets}))
    out = [p for n in nets for p in network_probes(n, bridges, remote, ports)]
    by_name = {n.name: n for n in nets}
    for pf in facts.port_forwards or ():
        net = by_name.get(pf.network or "")
        if net is not None and (probe := port_forward_probe(net, pf, bridges, remote)) is not None:
            if probe.id not in {p.id for p in out}:
                out.append(probe)
    return out
