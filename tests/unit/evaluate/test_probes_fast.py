"""Probes are built without their frozen dataclasses' __init__ (evaluate/probes.py): each one
must be exactly what the constructors make of the same fields, defaults included."""

import dataclasses

from vnetmigrate.evaluate.packet import Packet
from vnetmigrate.evaluate.probes import Probe, network_probes
from vnetmigrate.libvirt.summary import NetworkSummary


def net(name, mode, addrs, bridge=None, dev=None):
    return NetworkSummary(name, True, bridge or f"br-{name}", mode, dev, tuple(a for a in addrs), tuple(addrs))


NETS = [net("nat", "nat", ("192.168.122.1/24",)),
        net("dual", "nat", ("10.1.0.1/16", "fd00:1::1/64")),
        net("routed", "route", ("10.2.0.1/30", "2001:db8:2::1/126"), dev="eth1"),
        net("isolated", "none", ("10.3.0.1/24",)),
        net("v6only", "nat", ("fd00:4::1/64",))]


def test_probes_equal_what_the_dataclass_constructors_make():
    bridges = tuple(n.bridge for n in NETS)
    probes = [p for n in NETS for p in network_probes(n, bridges)]
    assert len(probes) == 9 + 18 + 18 + 3 + 9  # 9 per address family; isolated: DHCP and DNS only
    fields = [f.name for f in dataclasses.fields(Packet)]
    for p in probes:
        pkt = p.packet
        made = Packet(**{f: getattr(pkt, f) for f in fields})
        assert pkt == made and vars(pkt) == vars(made), p.id
        probe = Probe(p.id, p.network, p.bridge, p.kind, p.description, made)
        assert p == probe and vars(p) == vars(probe) and hash(p.packet.iif) == hash(made.iif), p.id
        assert type(pkt) is Packet and type(p) is Probe
    # the packets' own mutable state is their own
    ct = [p.packet.ct_status for p in probes]
    assert len({id(c) for c in ct}) == len(ct)
