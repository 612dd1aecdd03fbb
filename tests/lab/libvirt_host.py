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


# -- what libvirt's daemon does to the firewall, emulated for repair's lab tests ------------------
# No libvirt runs in the lab. These reproduce what real libvirt 11.3 leaves (tests/data/libvirt,
# recorded from it) and what its network daemon does when it restarts: it adds every active
# network's rules in the backend network.conf names, on top of whatever is there (it checks
# only its tables, chains and jumps: HACKING.md), and rewrites the status file. With the
# nftables backend on a kernel without act_csum (this machine's) it adds none and writes a
# status file without a removal recipe: the recorded silent failure (11.3-switch-no-act-csum).

SWITCHED = DATA.parents[1] / "11.3-switch-no-act-csum/after"
STATUS_OF = {"iptables": DATA / "status/default.xml",
             "nftables": DATA.parents[1] / "11.3-nftables/default/status/default.xml"}
NFT_CONF = '# libvirt network.conf (lab)\n#firewall_backend = "nftables"\nfirewall_backend = "nftables"\n'


def network():
    from vnetmigrate.libvirt import parse_status

    return parse_status((DATA / "status/default.xml").read_text()).network


def configured(root: Path) -> str:
    text = (root / "etc/libvirt/network.conf").read_text()
    return "nftables" if 'firewall_backend = "nftables"' in text.split('#firewall_backend = "nftables"')[-1] \
        else "iptables"


def add_rules(ns: str, backend: str) -> None:
    """The default network's rules in `backend`, added on top of what is there (containers
    only where missing), as libvirt's daemon adds them when it (re)starts."""
    import subprocess

    from vnetmigrate.libvirt import IptablesState, iptables_restore, nft_text
    from vnetmigrate.rules.iptables_save import parse_save

    net = network()
    if backend == "nftables":
        have = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "tables"], capture_output=True,
                              text=True, check=True).stdout
        text = nft_text([net], "11.3")
        if "libvirt_network" in have:  # containers there: only the network's rules
            text = "\n".join(ln for ln in text.splitlines() if ln.startswith("insert rule"))
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True, check=True)
        return
    for family, save_tool, restore in (("ipv4", "iptables-nft-save", "iptables-nft-restore"),
                                       ("ipv6", "ip6tables-nft-save", "ip6tables-nft-restore")):
        save = subprocess.run(["ip", "netns", "exec", ns, save_tool], capture_output=True, text=True,
                              check=True).stdout
        state = IptablesState.of(parse_save(save, family, "nft"))
        frag = iptables_restore([net], "11.3", family, state)
        if frag:
            subprocess.run(["ip", "netns", "exec", ns, restore, "--noflush"], input=frag, text=True, check=True)


def restart(ns: str, root: Path, act_csum: bool = False) -> None:
    """libvirt's network daemon restarting: the configured backend's rules on top, its status
    file; `act_csum`: whether the kernel has it (the lab's stands in for one that has)."""
    backend = configured(root)
    status = root / "run/libvirt/network/default.xml"
    if backend == "nftables" and not act_csum:
        status.write_text((SWITCHED / "status/default.xml").read_text())
        return
    add_rules(ns, backend)
    status.write_text(STATUS_OF[backend].read_text())


def silent_switch(lab, root: Path) -> None:
    """What real libvirt 11.3 leaves when it switches to nftables on a kernel without act_csum:
    network.conf says nftables, the network is active without any rule, the LIBVIRT_* chains
    and their jumps stay (empty), the status file has no <firewall> recipe."""
    for family, name in ((4, "iptables-save.txt"), (6, "ip6tables-save.txt")):
        lab.iptables_restore((SWITCHED / name).read_text(), family=family)
    install(lab, root, conf=NFT_CONF, rules=False)
    (root / "run/libvirt/network/default.xml").write_text((SWITCHED / "status/default.xml").read_text())


def restart_command(ns: str, root: Path, act_csum: bool = False) -> str:
    """The lab's --restart-command: this emulation, as a command line (run from the repository)."""
    import shlex
    import sys

    return shlex.join([sys.executable, "-m", "tests.lab.libvirt_host", "restart", ns, str(root),
                       *(["act_csum"] if act_csum else [])])


if __name__ == "__main__":  # python -m tests.lab.libvirt_host restart NS ROOT [act_csum]
    import sys

    restart(sys.argv[2], Path(sys.argv[3]), act_csum="act_csum" in sys.argv[4:])
