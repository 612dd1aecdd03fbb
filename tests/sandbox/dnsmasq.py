"""dnsmasq on a lab bridge, configured the way libvirt configures it for a NAT network.

libvirt writes /var/lib/libvirt/dnsmasq/NAME.conf and runs
``dnsmasq --conf-file=... --leasefile-ro --dhcp-script=.../libvirt_leaseshelper``. The lab keeps
the same options with its paths under the lab's temp dir, no lease helper (there is no
libvirt to tell), and keeps dnsmasq in the foreground so the lab owns its pid. Added for the
lab: `no-resolv`/`no-hosts`, so it neither forwards queries out of the lab nor reads the
machine's /etc/hosts, and one name in the addn-hosts file for the DNS probe.

dnsmasq pings an address before offering it and waits up to 3 s for an answer, so a first
DISCOVER takes 3 s (seen here). ``ping_check=False`` adds `no-ping` (not in libvirt's file)
for tests that want a lease in milliseconds; the firewall path of the packets is the same.
"""

from __future__ import annotations

import os
import time

from vnetmigrate.collect.host import which
from vnetmigrate.errors import EnvironmentProblem
from vnetmigrate.netns import entered
from tests.sandbox.topology import REMOTE_IP, LabNetwork

PROBE_NAME = "remote.vnm.test"


def config(net: LabNetwork, directory: str, ping_check: bool = True) -> str:
    start, end = net.dhcp_range
    size = net.net.num_addresses - 3
    return "\n".join([
        "##WARNING:  THIS IS AN AUTO-GENERATED FILE. (vnetmigrate lab, after libvirt's)",
        "strict-order",
        f"pid-file={directory}/{net.name}.pid",
        "except-interface=lo",
        "bind-dynamic",
        f"interface={net.bridge}",
        f"dhcp-range={start},{end},{net.net.netmask}",
        "dhcp-no-override",
        "dhcp-authoritative",
        f"dhcp-lease-max={size}",
        f"dhcp-hostsfile={directory}/{net.name}.hostsfile",
        f"addn-hosts={directory}/{net.name}.addnhosts",
        "no-resolv",
        "no-hosts",
        *([] if ping_check else ["no-ping"]),
        "",
    ])


def write_files(net: LabNetwork, directory: str, ping_check: bool = True) -> str:
    os.makedirs(directory, mode=0o755, exist_ok=True)
    files = {f"{net.name}.conf": config(net, directory, ping_check), f"{net.name}.hostsfile": "",
             f"{net.name}.addnhosts": f"{REMOTE_IP}\t{PROBE_NAME}\n"}
    for name, text in files.items():
        with open(os.path.join(directory, name), "w") as fh:
            fh.write(text)
        os.chmod(os.path.join(directory, name), 0o644)  # dnsmasq drops root before reloads
    return os.path.join(directory, f"{net.name}.conf")


def argv(conf: str) -> list[str]:
    exe = which("dnsmasq")
    if exe is None:
        raise EnvironmentProblem("dnsmasq is not installed (Debian package dnsmasq-base)")
    return [exe, f"--conf-file={conf}", "--leasefile-ro", "--keep-in-foreground", "--log-facility=-"]


def _listening(ns: str, address: str, port: int) -> bool:
    """Is a UDP socket bound to address:port in `ns`? (/proc/net/udp, no packets sent)."""
    want_port = f"{port:04X}"
    with entered(ns):
        with open("/proc/thread-self/net/udp") as fh:
            rows = fh.read().splitlines()[1:]
    for row in rows:
        local = row.split()[1]
        hexaddr, hexport = local.split(":")
        addr = ".".join(str(int(hexaddr[i:i + 2], 16)) for i in (6, 4, 2, 0))
        if hexport == want_port and addr in (address, "0.0.0.0"):
            return True
    return False


def wait_ready(ns: str, net: LabNetwork, proc, log: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log) as fh:
                raise EnvironmentProblem(f"dnsmasq exited with {proc.returncode}: {fh.read()[-2000:]}")
        if _listening(ns, net.gateway, 53) and _listening(ns, "0.0.0.0", 67):
            return
        time.sleep(0.005)
    raise EnvironmentProblem(f"dnsmasq did not listen on {net.gateway}:53 and :67 within {timeout} s")
