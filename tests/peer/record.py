"""Record what real libvirt does to the kernel for each corpus case and combination.

    python -m tests.peer.record                       # everything into tests/data/libvirt
    python -m tests.peer.record --out /tmp/x --combo 11.3-nftables --case default

Layout and meaning: tests/data/libvirt/README.md. One daemon (one PeerLibvirt) per
combination; between cases its networks are destroyed and undefined, what destroying left
behind is noted in the case's outcome.json, and then the namespace's ruleset is flushed and
the daemon restarted (libvirt creates its private chains/tables once per daemon process), so
every case starts from a freshly installed host and its recording does not depend on the
cases before it (nft handles in the status files included).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.peer import normalise
from tests.peer.cases import RECORDINGS_DIR, Case, Combo, load
from tests.peer.libvirtd import PeerLibvirt, VirshError


# Debian packages whose versions make a recording what it is (9.0 has no separate
# libvirt-daemon-driver-network: dpkg-query simply leaves it out).
PACKAGES = ("libvirt-daemon", "libvirt-daemon-driver-network", "libvirt-clients", "nftables",
            "iptables", "dnsmasq-base", "iproute2")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def snapshot(peer: PeerLibvirt, out: Path, networks: list[str]) -> None:
    """The kernel state and libvirt's status files, normalised, into `out`."""
    write(out / "nft-ruleset.nft", normalise.nft_text(peer.nft_ruleset_text()))
    write(out / "nft-ruleset.json", normalise.dump_json(normalise.nft_json(peer.nft_ruleset_json())))
    write(out / "iptables-save.txt", normalise.iptables_save(peer.iptables_save()))
    write(out / "ip6tables-save.txt", normalise.iptables_save(peer.ip6tables_save()))
    for name in networks:
        status = peer.status_xml(name)
        if status is not None:
            write(out / "status" / f"{name}.xml", status)
    write(out / "tc-qdisc.txt", normalise.tc_qdisc(peer.tc_qdisc_text()))
    tc = peer.tc_log()
    if tc is not None:
        write(out / "tc-shim.log", tc)


def _is_skeleton(rule: dict) -> bool:
    """A jump into one of libvirt's private chains: what stays after every network is gone."""
    expr = [e for e in rule["expr"] if "counter" not in e]
    if len(expr) != 1 or "jump" not in expr[0]:
        return False
    target = expr[0]["jump"]["target"]
    return target.startswith("LIBVIRT_") or (rule["table"] == "libvirt_network" and target.startswith("guest_"))


def leftovers(peer: PeerLibvirt, own_links: set[str]) -> dict:
    """What is still there after destroying and undefining every network of a case."""
    doc = normalise.nft_json(peer.nft_ruleset_json())
    rules = [f'{r["family"]} {r["table"]} {r["chain"]}: {json.dumps(r["expr"], sort_keys=True)}'
             for item in doc["nftables"] if (r := item.get("rule")) and not _is_skeleton(r)]
    links = sorted(set(peer.links()) - own_links - {"lo"})
    return {"rules": rules, "links": links}


def network_name(xml_text: str) -> str:
    return ET.fromstring(xml_text).findtext("name")


def run_case(peer: PeerLibvirt, case: Case) -> tuple[list[dict], set[str]]:
    """Prepare the namespace and define+start the case's networks in order."""
    own_links: set[str] = set()
    for name, kind in case.links:
        peer.add_link(name, kind)
        own_links |= {name, f"{name}p"} if kind == "veth" else {name}
    for d in case.dirs:
        peer.exec(["mkdir", "-p", d], check=True)
    results = []
    for net in case.networks:
        xml = case.xml(net)
        entry = {"file": f"{net}.xml", "name": network_name(xml)}
        try:
            peer.define(xml)
        except VirshError as exc:
            entry.update(outcome="define-fails", error=exc.stderr)
            results.append(entry)
            continue
        try:
            peer.start(entry["name"])
            entry["outcome"] = "started"
        except VirshError as exc:
            entry.update(outcome="start-fails", error=exc.stderr)
        results.append(entry)
    return results, own_links


def record_case(peer: PeerLibvirt, combo: Combo, case: Case, out: Path) -> list[str]:
    """Record one case; returns mismatches against the case's expectations."""
    if out.exists():
        shutil.rmtree(out)
    results, own_links = run_case(peer, case)
    names = [r["name"] for r in results]
    snapshot(peer, out, names)
    net_list = peer.net_list()
    peer.destroy_all()
    for d in case.dirs:  # the private /var/lib/libvirt outlives the case: leave it as found
        peer.exec(["rm", "-rf", d], check=True)
    outcome = {"case": case.id, "combo": combo.id, "networks": results, "net_list": net_list,
               "left_after_destroy": leftovers(peer, own_links)}
    write(out / "outcome.json", normalise.dump_json(outcome))
    return [f"{combo.id}/{case.id}: {r['name']} {r['outcome']}, expected {case.expected(r['file'][:-4])}"
            for r in results if r["outcome"] != case.expected(r["file"][:-4])]


def versions(peer: PeerLibvirt, combo: Combo) -> dict:
    def first_line(argv):
        return peer.exec(argv, check=True).stdout.strip().splitlines()[0]
    return {"combo": combo.id, "libvirt_version": combo.version, "firewall_backend": combo.backend,
            "libvirtd": first_line(["libvirtd", "--version"]),
            "nft": first_line(["nft", "--version"]),
            "iptables": first_line(["iptables-nft", "--version"]),
            "packages": peer.exec(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *PACKAGES]).stdout.split("\n")[:-1],
            "tc_shim": peer.tc_shim}


def record_combo(combo: Combo, cases: list[Case], out: Path, log=print) -> list[str]:
    problems: list[str] = []
    start = time.monotonic()
    with PeerLibvirt(combo.version, combo.backend) as peer:
        write(out / "versions.json", normalise.dump_json(versions(peer, combo)))
        for i, case in enumerate(cases):
            if i:
                peer.reset()
            t = time.monotonic()
            problems += record_case(peer, combo, case, out / case.id)
            log(f"  {combo.id}/{case.id}: {time.monotonic() - t:.2f} s")
    log(f"{combo.id}: {len(cases)} cases in {time.monotonic() - start:.1f} s")
    return problems


def record(out: Path, combo_ids=None, case_ids=None, switch=True, log=print,
           jobs: int = 3) -> list[str]:
    """Record the selected combinations (all by default) and the backend switch scenarios.
    Combinations are independent peers, so `jobs` of them run at once (most of the time
    goes to waiting for libvirt's child processes, not to CPU)."""
    from tests.peer import switch as switch_mod
    combos, cases = load()
    work = []
    for cid, combo in combos.items():
        if combo_ids and cid not in combo_ids:
            continue
        selected = [c for c in cases if cid in c.combos and (not case_ids or c.id in case_ids)]
        if not selected:
            continue
        if not case_ids and (out / cid).exists():
            shutil.rmtree(out / cid)  # a full re-record drops cases that no longer exist
        work.append(lambda combo=combo, selected=selected: record_combo(combo, selected, out / combo.id, log))
    for scenario in switch_mod.SCENARIOS if switch else ():
        if not combo_ids or scenario.id in combo_ids:
            work.append(lambda s=scenario: _timed(s.id, lambda: switch_mod.record_scenario(s, out / s.id), log))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return [p for result in pool.map(lambda job: job(), work) for p in result]


def _timed(label: str, fn, log) -> list[str]:
    t = time.monotonic()
    result = fn()
    log(f"{label}: {time.monotonic() - t:.1f} s")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.peer.record", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=RECORDINGS_DIR, help="output directory (default: %(default)s)")
    ap.add_argument("--combo", action="append", help="only this combination or switch scenario (repeatable)")
    ap.add_argument("--case", action="append", help="only this case (repeatable)")
    ap.add_argument("--no-switch", action="store_true", help="skip the backend switch scenarios")
    ap.add_argument("--jobs", type=int, default=3, help="peers recording at once (default: %(default)s)")
    args = ap.parse_args(argv)
    start = time.monotonic()
    problems = record(args.out, args.combo, args.case, switch=not (args.no_switch or args.case),
                      log=lambda m: print(m, file=sys.stderr), jobs=args.jobs)
    print(f"recorded in {time.monotonic() - start:.1f} s into {args.out}", file=sys.stderr)
    for p in problems:
        print(f"UNEXPECTED: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
