"""Benchmark: migrating 100 libvirt networks iptables -> nftables, against two baselines.

In one lab namespace with 100 NAT networks (bridges, libvirt's iptables rules), measured in
the same run:

- the transaction engine applying a migration plan (snapshot, journal with fsyncs, one
  libnftables batch for both libvirt_network tables, verification, the LIBVIRT_* chains
  removed per family, network.conf written atomically; no daemon restart), and within it
  the kernel-changing nftables step alone (from the journal: intent -> done);
- replaying the same nftables commands one `nft` process per command, as libvirt applies
  its rules (it runs `nft -ae insert rule ...` once per rule);
- one `nft -f` of the same final ruleset.

The plan's rules come from the lab's fixtures (the same rules libvirt 11.3 creates for NAT
networks), not from the model. Printed, not asserted. Run as root:

    .venv/bin/python -m tests.bench.bench_migrate [--networks 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark builds network namespaces")
    from tests.lab import txn_fixture_plan
    from vnetmigrate.netns import entered
    from vnetmigrate.sandbox import Lab, Network, fixtures
    from vnetmigrate.txn import engine, journal, recovery
    from vnetmigrate.txn.statedir import StateDir

    nets = [Network(f"net{i}", f"virbr{i}", f"10.{i // 250}.{i % 250}.0/24") for i in range(args.networks)]
    rows: dict[str, list[float]] = {"engine: whole migration": [], "engine: nftables step": [],
                                    "engine: rollback": [], "nft process per command": [], "one nft -f": []}
    t0 = time.perf_counter()
    with Lab(nets) as lab, tempfile.TemporaryDirectory(prefix="vnm-bench-") as tmp:
        root = Path(tmp) / "root"
        (root / "etc/libvirt").mkdir(parents=True)
        (root / "etc/libvirt/network.conf").write_text(txn_fixture_plan.OLD_CONF)
        lab.iptables_restore(fixtures.libvirt_iptables_v4([n.pair for n in nets]))
        lab.iptables_restore(fixtures.libvirt_iptables_v6(), family=6)
        text = fixtures.libvirt_nftables([n.pair for n in nets])
        commands = txn_fixture_plan.nft_commands(lab, text)
        time.sleep(3)  # let the kernel finish cleaning up the scratch namespace (HACKING.md)
        print(f"lab with {len(nets)} networks built in {time.perf_counter() - t0:.1f} s; "
              f"{len(commands)} nftables commands")
        drop = "delete table ip libvirt_network\ndelete table ip6 libvirt_network\n"
        for _ in range(args.repeat):
            plan = txn_fixture_plan.plan(lab, root, commands)
            with entered(lab.host), StateDir(Path(tmp) / "state") as st:
                start = time.perf_counter()
                out = engine.run(plan, st, root, netns=lab.host)
                rows["engine: whole migration"].append(time.perf_counter() - start)
                assert out.status == "committed", out
                recs = journal.read(st.txn_dir(out.txn_id)).records
                done = next(r for r in recs if r["rec"] == "done" and r["step"] == 0)
                rows["engine: nftables step"].append(done["result"]["seconds"])
                start = time.perf_counter()
                assert recovery.roll_back_committed(st, recovery.latest_committed(st)).status == "rolled-back"
                rows["engine: rollback"].append(time.perf_counter() - start)
            start = time.perf_counter()
            for cmd in commands:
                lab.run(["nft", "-j", "-f", "-"], input=json.dumps({"nftables": [cmd]}))
            rows["nft process per command"].append(time.perf_counter() - start)
            lab.nft(drop)
            start = time.perf_counter()
            lab.run(["nft", "-f", "-"], input=text)
            rows["one nft -f"].append(time.perf_counter() - start)
            lab.nft(drop)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\n{'':<28}{'median s':>10}")
    for name, wall in med.items():
        print(f"{name:<28}{wall:>10.3f}")
    print(f"\nnftables step / one nft -f: {med['engine: nftables step'] / med['one nft -f']:.2f}x (target <= 1.5x)")
    print(f"per-command nft / whole migration: {med['nft process per command'] / med['engine: whole migration']:.1f}x "
          "(target >= 10x)")
    print("(`nft -f` and the per-command replay run through `ip netns exec`, which adds its own start-up "
          "to each process)")


if __name__ == "__main__":
    main()
