"""Helpers for the transaction lab tests: a throwaway namespace and whole-kernel views."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vnetmigrate.txn.snapshot import clean

FOREIGN_NFT_TABLES = {("inet", "firewalld"), ("ip", "docker-bridges"), ("inet", "netavark"), ("inet", "ufw-like")}
REPO = Path(__file__).resolve().parents[2]
VNM = [sys.executable, "-m", "vnetmigrate"]


def skip_unless_lab() -> None:
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (they create network namespaces)")
    for tool in ("ip", "nft", "iptables-nft-restore", "ip6tables-nft-restore"):
        if subprocess.run(["sh", "-c", f"command -v {tool} || test -x /usr/sbin/{tool}"],
                          capture_output=True).returncode:
            pytest.skip(f"lab tests need {tool}")


@contextlib.contextmanager
def namespace() -> Iterator[str]:
    """A bare namespace with the sandbox's owner record (swept if this process dies)."""
    from tests.sandbox import namespaces

    name = namespaces.new_name("txn")
    namespaces.create([name])
    try:
        yield name
    finally:
        namespaces.delete([name])


def ns_run(ns: str, argv: list[str], input: str | None = None) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], input=input, capture_output=True, text=True,
                          check=True).stdout


def nft_view(ns: str) -> dict:
    """The whole ruleset: table -> {chain: {props, rules}, set: ...}, without handles and counters."""
    doc = json.loads(ns_run(ns, ["nft", "-j", "list", "ruleset"]))
    out: dict = {}
    for item in doc["nftables"]:
        (kind, obj), = item.items()
        if kind == "metainfo":
            continue
        table = f"{obj['family']} {obj.get('table', obj.get('name'))}"
        t = out.setdefault(table, {})
        if kind == "rule":
            t.setdefault(f"chain {obj['chain']}", {}).setdefault("rules", []).append(clean(obj["expr"]))
        elif kind == "chain":
            t.setdefault(f"chain {obj['name']}", {}).update(clean({k: v for k, v in obj.items() if k != "name"}))
        elif kind != "table":
            t[f"{kind} {obj['name']}"] = clean(obj)
    return out


def ipt_view(ns: str, family: str = "ipv4") -> dict:
    """iptables-nft-save as {table: {chain: [rules in order]}} (policies and declarations too)."""
    tool = "iptables-nft-save" if family == "ipv4" else "ip6tables-nft-save"
    out: dict = {}
    table = None
    for line in ns_run(ns, [tool]).splitlines():
        if line.startswith("*"):
            table = out.setdefault(line[1:], {})
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            table.setdefault(name, {"policy": policy, "rules": []})
        elif line.startswith("-A "):
            table[line.split()[1]]["rules"].append(line)
    return out


def kernel_state(ns: str) -> dict:
    return {"nft": nft_view(ns), "ipv4": ipt_view(ns, "ipv4"), "ipv6": ipt_view(ns, "ipv6")}


def foreign(state: dict) -> dict:
    """What belongs to others: their nft tables, and the iptables chains not named LIBVIRT_*."""
    nft = {k: v for k, v in state["nft"].items() if tuple(k.split()) in FOREIGN_NFT_TABLES}
    ipt = {fam: {t: {c: {"policy": v["policy"], "rules": [r for r in v["rules"] if "LIBVIRT_" not in r]}
                     for c, v in chains.items() if not c.startswith("LIBVIRT_")}
                 for t, chains in state[fam].items()} for fam in ("ipv4", "ipv6")}
    return {"nft": nft, "ipt": ipt}


def vnm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*VNM, *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=120)


def scenario(ns: str, state: Path, root: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.lab.txn_scenario", ns, str(state),
                           str(root)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=120)
