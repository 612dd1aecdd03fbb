"""Read and change the firewall of the current network namespace (the engine enters --netns).

nftables goes through libnftables (`Nftables().json_cmd`: one call, one kernel transaction),
or `nft -j -f -` where the binding is missing. iptables-nft goes through the real
`iptables-nft-restore --noflush` / `iptables-nft -S`. A libnftables context is made per call:
its netlink socket belongs to the namespace of the thread that opened it.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from vnetmigrate.collect.host import which
from vnetmigrate.errors import EnvironmentProblem, VnmError

IPT = {"ipv4": ("iptables-nft", "iptables-nft-restore", "ip"),
       "ipv6": ("ip6tables-nft", "ip6tables-nft-restore", "ip6")}


class KernelError(VnmError):
    """The kernel (or nft / iptables) refused a change or a listing."""


def _binding():
    try:
        import nftables  # type: ignore[import-not-found]

        return nftables.Nftables
    except ImportError:
        return None


def _tool(name: str) -> str:
    exe = which(name)
    if exe is None:
        raise EnvironmentProblem(f"{name} is not installed", hint="install nftables and iptables")
    return exe


def nft_apply(commands: list[dict[str, Any]], echo: bool = False) -> list[dict[str, Any]]:
    """Run libnftables JSON commands as one transaction; with `echo`, return what was added."""
    doc = {"nftables": commands}
    cls = _binding()
    if cls is not None:
        nft = cls()
        nft.set_json_output(True)
        if echo:
            nft.set_echo_output(True)
            nft.set_handle_output(True)
        rc, out, err = nft.json_cmd(doc)
        if rc != 0:
            raise KernelError(f"nftables refused the change: {str(err).strip()}")
        return list((out or {}).get("nftables", [])) if isinstance(out, dict) else []
    argv = [_tool("nft"), "-j", *(["-e", "-a"] if echo else []), "-f", "-"]
    proc = subprocess.run(argv, input=json.dumps(doc), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise KernelError(f"nftables refused the change: {proc.stderr.strip()}")
    return json.loads(proc.stdout).get("nftables", []) if echo and proc.stdout.strip() else []


def nft_list(what: str) -> dict[str, Any] | None:
    """`nft -j list WHAT`; None when the object does not exist."""
    cls = _binding()
    if cls is not None:
        nft = cls()
        nft.set_json_output(True)
        rc, out, err = nft.cmd(f"list {what}")
    else:
        proc = subprocess.run([_tool("nft"), "-j", *f"list {what}".split()], capture_output=True, text=True,
                              timeout=120)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    if rc != 0:
        if "No such file or directory" in err:
            return None
        raise KernelError(f"`nft list {what}` failed: {err.strip()}")
    return json.loads(out) if out.strip() else {"nftables": []}


def chains() -> list[dict[str, Any]]:
    """Every chain of every table (no rules): 10 ms even on a 50,000-rule host."""
    doc = nft_list("chains") or {}
    return [item["chain"] for item in doc.get("nftables", []) if "chain" in item]


def tables() -> set[tuple[str, str]]:
    doc = nft_list("tables") or {}
    return {(i["table"]["family"], i["table"]["name"]) for i in doc.get("nftables", []) if "table" in i}


def ipt_list(family: str, table: str, chain: str) -> list[str]:
    """`iptables-nft -t TABLE -S CHAIN` without the -P/-N line: the chain's rules, in order."""
    proc = subprocess.run([_tool(IPT[family][0]), "-w", "-t", table, "-S", chain], capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise KernelError(f"`{IPT[family][0]} -t {table} -S {chain}` failed: {proc.stderr.strip()}")
    return [line for line in proc.stdout.splitlines() if line.startswith("-A ")]


def ipt_restore(family: str, text: str) -> None:
    """`iptables-nft-restore --noflush` (ip6tables for ipv6): one kernel transaction per table."""
    proc = subprocess.run([_tool(IPT[family][1]), "-w", "--noflush"], input=text, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise KernelError(f"{IPT[family][1]} refused the change: {proc.stderr.strip()}\n--- input ---\n{text}")
