"""Benchmark: `vnetmigrate fleet DIR --format json` over 10,000 saved scans, against parsing them bare.

First scans real lab hosts (tests/lab/scenarios.py: libvirt alone, Docker's DROP, nftables.service,
iptables-services, a port-forward hook; each under libvirt's nftables and iptables backends) with
`vnetmigrate scan --netns --root --format json`, plus a libvirt 9.0 host from the unit builders'
evidence (`scan --from`) and a quiet one pinned to iptables, then writes HOSTS scan files varied from them: each its own hostname
and collection time, the scenarios mixed in uneven shares, every 100th file broken and every
500th a second scan of a host already there. Then measures in the same run, each in a fresh
process: `python -c pass`, the anchor (json.load of every file, nothing else) and `vnetmigrate
fleet` (json, and html for comparison). Prints wall time, peak RSS (GNU time) and the ratios
against the anchor. Run as root:

    .venv/bin/python -m tests.bench.bench_fleet [--hosts 10000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_scan import GNU_TIME, measure

BROKEN_EVERY = 100
DUPLICATE_EVERY = 500
# How often each base scan appears: most hosts are plain, some run Docker or a firewall service.
SHARES = {"libvirt-only": 5, "docker": 3, "nftables-service": 1, "iptables-services": 1, "port-forward": 1,
          "libvirt-9.0": 3, "pinned-iptables": 3}


def lab_scans(work: Path) -> dict[str, dict]:
    """`scenario/backend` -> the scan envelope of a real lab host in that scenario."""
    from tests.lab.scenarios import BY_ID, build
    from tests.sandbox import Lab

    out = {}
    for sid in ("libvirt-only", "docker", "nftables-service", "iptables-services", "port-forward"):
        for backend in ("nftables", "iptables"):
            with Lab() as lab:
                host = build(lab, BY_ID[sid], backend)
                root = host.write_root(work / f"root-{sid}-{backend}")
                proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--netns", lab.host, "--root",
                                       str(root), "--format", "json"], capture_output=True, text=True, timeout=120)
            if proc.returncode not in (0, 3, 4):
                raise SystemExit(f"scan of the lab's {sid}/{backend} host failed: {proc.stderr[-2000:]}")
            out[f"{sid}/{backend}"] = json.loads(proc.stdout)
    return out


def builder_scan(work: Path, name: str) -> dict:
    """A host from the unit builders' evidence (tests/render/scenarios.py), scanned with `scan --from`:
    libvirt 9.0 with no backend pinned (matrix row 2, then 3), or a quiet host pinned to iptables."""
    from tests.render import scenarios

    evidence = work / f"evidence-{name}"
    getattr(scenarios, name)().save(evidence)
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--from", str(evidence), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    return json.loads(proc.stdout)


def write_fleet(directory: Path, bases: dict[str, dict], hosts: int) -> dict[str, int]:
    """HOSTS files in DIRECTORY (100 per subdirectory, as an Ansible fetch lays them out)."""
    weighted = [key for key in bases for _ in range(SHARES[key.split("/")[0]])]
    counts: dict[str, int] = {}
    for i in range(hosts):
        sub = directory / f"batch{i // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        if i % BROKEN_EVERY == BROKEN_EVERY - 1:
            (sub / f"kvm{i:05d}.json").write_text('{"schema_version": 1, "command": "scan", "status": ')
            counts["broken"] = counts.get("broken", 0) + 1
            continue
        key = weighted[(i * 7919) % len(weighted)]  # a fixed, uneven mix
        doc = bases[key]
        duplicate = i % DUPLICATE_EVERY == DUPLICATE_EVERY // 2  # never a broken file's number
        n = i - 1 if duplicate else i
        doc["data"]["host"]["hostname"] = f"kvm{n:05d}.example.net"
        doc["data"]["host"]["collected_at"] = f"2026-12-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
        (sub / f"kvm{i:05d}.json").write_text(json.dumps(doc, indent=2) + "\n")
        counts[key] = counts.get(key, 0) + 1
        counts["duplicate"] = counts.get("duplicate", 0) + duplicate
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, metavar="DIR", help="also copy the generated scans to DIR (to look at)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the real scans come from lab hosts in network namespaces")
    if not os.path.exists(GNU_TIME):
        raise SystemExit(f"{GNU_TIME} is missing: apt-get install time (or dnf install time)")
    with tempfile.TemporaryDirectory(prefix="vnm-bench-fleet-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        bases = {**lab_scans(work), "libvirt-9.0/iptables": builder_scan(work, "switching_evidence"),
                 "pinned-iptables/iptables": builder_scan(work, "quiet_evidence")}
        statuses = ", ".join(f"{key}: {doc['status']}" for key, doc in bases.items())
        print(f"real scans: {len(bases)} ({statuses}) in {time.perf_counter() - t0:.1f} s")
        scans = work / "scans"
        t0 = time.perf_counter()
        counts = write_fleet(scans, bases, args.hosts)
        size = sum(f.stat().st_size for f in scans.rglob("*.json"))
        print(f"fleet: {args.hosts} files, {size / 1e6:.0f} MB, written in {time.perf_counter() - t0:.1f} s; "
              f"{counts.get('broken', 0)} broken, {counts.get('duplicate', 0)} a second scan of a host")
        if args.keep:
            shutil.copytree(scans, args.keep, dirs_exist_ok=True)
        time.sleep(3)  # the lab's namespaces were just deleted (HACKING.md facts: nft commits stall after that)
        py = sys.executable
        # What any tool reading these files must at least do: open and parse each one (the broken ones too).
        anchor = ("import glob, json, sys\nfor f in glob.glob(sys.argv[1] + '/*/*.json'):\n"
                  "    try:\n        json.load(open(f))\n    except ValueError:\n        pass\n")
        rows = {
            "python -c pass": measure([py, "-c", "pass"], args.repeat),
            "anchor: json.load every file": measure([py, "-c", anchor, str(scans)], args.repeat),
            "vnetmigrate fleet --format json": measure([py, "-m", "vnetmigrate", "fleet", str(scans),
                                                        "--format", "json"], args.repeat),
            "vnetmigrate fleet --format html": measure([py, "-m", "vnetmigrate", "fleet", str(scans),
                                                        "--format", "html"], 1),
        }
    base_wall, base_mem = rows["anchor: json.load every file"]
    print(f"{'command':34} {'wall s':>8} {'peak MB':>8} {'x anchor':>9}")
    for name, (wall, mem) in rows.items():
        print(f"{name:34} {wall:8.2f} {mem:8.1f} {wall / base_wall:9.2f}")
    print(f"(anchor peak memory {base_mem:.0f} MB; the fleet's json output of {args.hosts} hosts is included "
          "in its wall time)")


if __name__ == "__main__":
    main()
