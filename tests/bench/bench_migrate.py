"""Benchmark: `vnetmigrate migrate` of 100 libvirt networks iptables -> nftables, against two
baselines measured in the same run.

A lab namespace gets 100 NAT networks (bridges, and the iptables rules libvirt 11.3 creates
for them, from the model), their status files and network.conf under a temporary root.
Measured, each in a fresh process where it is a command:

- `vnetmigrate migrate --no-restart` (the whole command: interpreter start-up, reading the
  host, scan, plan, snapshot, journal with fsyncs, one libnftables batch for both
  libvirt_network tables, verification against the model, removal of the LIBVIRT_* chains,
  network.conf, final verification), and within it the kernel-changing nftables step alone
  (its duration as the journal records it); then `vnetmigrate rollback`;
- libvirt's way: the same nftables commands (the model's `nft_text`, one command a line),
  one `nft` process per command, as libvirt runs `nft -ae insert rule ...` per rule;
- one `nft -f` of the same commands.

Printed, not asserted. Run as root:

    .venv/bin/python -m tests.bench.bench_migrate [--networks 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.unit.schema_check import valid_envelope

NET_XML = """<network><name>{name}</name><forward mode='nat'/><bridge name='{bridge}' stp='on' delay='0'/>
<ip address='{gw}' netmask='255.255.255.0'><dhcp><range start='{lo}' end='{hi}'/></dhcp></ip></network>
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark builds network namespaces")
    # migrate and rollback lock the lab namespace host-wide under /run/vnetmigrate: like the
    # tests (tests/conftest.py), the benchmark keeps its locks in a directory of its own.
    from vnetmigrate.txn.hostlock import ENV

    lock_dir = tempfile.mkdtemp(prefix="vnm-bench-locks-")
    atexit.register(shutil.rmtree, lock_dir, True)
    os.environ[ENV] = lock_dir
    from vnetmigrate.libvirt import iptables_restore, nft_text, parse_network
    from tests.sandbox import Lab, LabNetwork

    nets = [LabNetwork(f"net{i}", f"virbr{i}", f"10.{i // 250}.{i % 250}.0/24") for i in range(args.networks)]
    xmls = [NET_XML.format(name=n.name, bridge=n.bridge, gw=n.gateway, lo=n.dhcp_range[0], hi=n.dhcp_range[1])
            for n in nets]
    model = [parse_network(x) for x in xmls]
    rows: dict[str, list[float]] = {k: [] for k in ("vnetmigrate migrate (whole command)", "  its nftables step",
                                                    "vnetmigrate rollback", "nft process per command", "one nft -f")}
    t0 = time.perf_counter()
    with Lab(nets) as lab, tempfile.TemporaryDirectory(prefix="vnm-bench-") as tmp:
        root, state = Path(tmp) / "root", Path(tmp) / "state"
        (root / "etc/libvirt").mkdir(parents=True)
        (root / "etc/libvirt/network.conf").write_text('firewall_backend = "iptables"\n')
        status = root / "run/libvirt/network"
        status.mkdir(parents=True)
        for n, x in zip(nets, xmls):
            (status / f"{n.name}.xml").write_text(f"<networkstatus>\n{x}</networkstatus>\n")
        for family in ("ipv4", "ipv6"):
            lab.iptables_restore(iptables_restore(model, "11.3", family), family=4 if family == "ipv4" else 6)
        text = nft_text(model, "11.3")
        commands = text.splitlines()
        print(f"lab with {len(nets)} networks built in {time.perf_counter() - t0:.1f} s; "
              f"{len(commands)} nftables commands")
        vnm = [sys.executable, "-m", "vnetmigrate"]
        # This machine's kernel lacks act_csum (HACKING.md): migrate rightly calls that a blocker
        # of the nftables backend. The benchmark measures the migration, so it forces it.
        common = ["--state-dir", str(state)]
        force = ["--force", "nftables-prerequisites"]
        drop = "delete table ip libvirt_network\ndelete table ip6 libvirt_network\n"
        time.sleep(3)  # a namespace deletion just before would slow the next nft commit (HACKING.md)
        for _ in range(args.repeat):
            start = time.perf_counter()
            proc = subprocess.run([*vnm, "migrate", "--no-restart", "--netns", lab.host, "--root", str(root), *common, *force,
                                   "--format", "json"], capture_output=True, text=True)
            rows["vnetmigrate migrate (whole command)"].append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"migrate failed ({proc.returncode}): {proc.stdout[-3000:]} {proc.stderr[-2000:]}")
            txn = valid_envelope(proc.stdout, "txn-v1")["data"]["transaction"]["id"]
            done = [json.loads(ln) for ln in (state / "txn" / txn / "journal.jsonl").read_text().splitlines()]
            rows["  its nftables step"].append(next(r for r in done if r["rec"] == "done" and r["step"] == 0)
                                                ["result"]["seconds"])
            start = time.perf_counter()
            back = subprocess.run([*vnm, "rollback", "--netns", lab.host, "--root", str(root), *common],
                                  capture_output=True, text=True)
            rows["vnetmigrate rollback"].append(time.perf_counter() - start)
            if back.returncode != 0:
                raise SystemExit(f"rollback failed: {back.stdout[-2000:]} {back.stderr[-2000:]}")
            start = time.perf_counter()
            for cmd in commands:
                lab.run(["nft", cmd])
            rows["nft process per command"].append(time.perf_counter() - start)
            lab.nft(drop)
            start = time.perf_counter()
            lab.run(["nft", "-f", "-"], input=text)
            rows["one nft -f"].append(time.perf_counter() - start)
            lab.nft(drop)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\n{'':<38}{'median s':>10}")
    for name, wall in med.items():
        print(f"{name:<38}{wall:>10.3f}")
    print(f"\nnftables step / one nft -f: {med['  its nftables step'] / med['one nft -f']:.2f}x (target <= 1.5x)")
    print(f"nft per command / whole migrate: "
          f"{med['nft process per command'] / med['vnetmigrate migrate (whole command)']:.1f}x (target >= 10x)")
    print("(`nft` processes run through `ip netns exec`, ~2 ms more each than libvirt's direct calls)")


if __name__ == "__main__":
    main()
