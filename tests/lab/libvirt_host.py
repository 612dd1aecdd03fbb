"""A lab host that looks like one where real libvirt 11.3 runs the default network with its
iptables backend: the recorded rules and status file (tests/data/libvirt/11.3-iptables/default,
recorded from real libvirt), a network.conf and the status file under a temporary root."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data/libvirt/11.3-iptables/default"
CONF = '# libvirt network.conf (lab)\n#firewall_backend = "nftables"\nfirewall_backend = "iptables"\n'


def install(lab, root: Path, conf: str | None = CONF, rules: bool = True) -> None:
    """Load libvirt's recorded iptables rules into the lab host and its files under `root`."""
    if rules:
        lab.iptables_restore((DATA / "iptables-save.txt").read_text())
        lab.iptables_restore((DATA / "ip6tables-save.txt").read_text(), family=6)
    status = root / "run/libvirt/network"
    status.mkdir(parents=True, exist_ok=True)
    (status / "default.xml").write_text((DATA / "status/default.xml").read_text())
    etc = root / "etc/libvirt"
    etc.mkdir(parents=True, exist_ok=True)
    if conf is not None:
        (etc / "network.conf").write_text(conf)
