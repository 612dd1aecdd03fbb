"""Load and read firewall rules inside a lab namespace.

nftables goes through libnftables in this process (setns into the namespace first: the
netlink socket a context opens belongs to the namespace of the thread that opened it);
iptables goes through the real tools under `ip netns exec`, exactly the commands a user
would run, so iptables-nft and legacy x_tables are both exercised as on a host.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from typing import Any

from vnetmigrate.errors import EnvironmentProblem
from vnetmigrate.netns import entered
from tests.sandbox import namespaces

_TOOLS = {  # (family, legacy) -> (command, restore, save)
    (4, False): ("iptables-nft", "iptables-nft-restore", "iptables-nft-save"),
    (6, False): ("ip6tables-nft", "ip6tables-nft-restore", "ip6tables-nft-save"),
    (4, True): ("iptables-legacy", "iptables-legacy-restore", "iptables-legacy-save"),
    (6, True): ("ip6tables-legacy", "ip6tables-legacy-restore", "ip6tables-legacy-save"),
}


class NftError(EnvironmentProblem):
    pass


def _nft(*, json_output: bool = False) -> Any:
    try:
        import nftables  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - the OS package python3-nftables is required here
        raise EnvironmentProblem("python3-nftables (the libnftables binding) is not installed")
    nft = nftables.Nftables()
    nft.set_json_output(json_output)
    return nft


def nft_cmd(ns: str, text: str) -> str:
    """Run nft commands (text, several lines = one atomic transaction); return nft's output."""
    with entered(ns):
        nft = _nft()
        rc, out, err = nft.cmd(text)
    if rc != 0:
        raise NftError(f"nft failed in {ns}: {err.strip()}\n--- input ---\n{text}")
    return out


def nft_json(ns: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    """Run a libnftables JSON document (``{"nftables": [...]}``): one kernel transaction."""
    with entered(ns):
        nft = _nft(json_output=True)
        rc, out, err = nft.json_cmd(doc)
    if rc != 0:
        raise NftError(f"nft JSON failed in {ns}: {err}\n--- input ---\n{json.dumps(doc)[:2000]}")
    return out or None


def ruleset(ns: str, counters: bool = True) -> dict[str, Any]:
    """`nft -j list ruleset` of the namespace as parsed JSON (optionally without counters)."""
    with entered(ns):
        nft = _nft(json_output=True)
        rc, out, err = nft.cmd("list ruleset")
    if rc != 0:
        raise NftError(f"nft list ruleset failed in {ns}: {err.strip()}")
    doc = json.loads(out)
    return doc if counters else strip_counters(doc)


def strip_counters(doc: Any) -> Any:
    """Drop packet/byte counts (they change with every probe) so rulesets can be compared."""
    if isinstance(doc, dict):
        if set(doc) == {"counter"} and isinstance(doc["counter"], dict):
            return {"counter": None}
        return {k: strip_counters(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [strip_counters(v) for v in doc]
    return doc


def iptables_restore(ns: str, text: str, *, family: int = 4, legacy: bool = False,
                     noflush: bool = True) -> None:
    """Load an iptables-save style fragment (``--noflush`` adds to what is there)."""
    restore = _TOOLS[(family, legacy)][1]
    namespaces.run(ns, [restore, *(["--noflush"] if noflush else [])], input=text)


def iptables(ns: str, args: Sequence[str], *, family: int = 4, legacy: bool = False,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    """One iptables command, e.g. ``("-P", "FORWARD", "DROP")``."""
    return namespaces.run(ns, [_TOOLS[(family, legacy)][0], "-w", *args], check=check)


def iptables_save(ns: str, *, family: int = 4, legacy: bool = False) -> str:
    text = namespaces.run(ns, [_TOOLS[(family, legacy)][2]]).stdout
    # Drop the "# Generated/Completed ... on <date>" lines so two saves can be compared.
    return re.sub(r"^# (Generated|Completed) .*\n", "", text, flags=re.M)


def legacy_tables(ns: str) -> dict[str, list[str]]:
    """/proc/net/ip{,6}_tables_names inside `ns`: which legacy x_tables tables exist there.

    Read through /proc/thread-self: /proc/net follows the thread group leader, which is not
    necessarily the thread that entered the namespace.
    """
    out = {}
    with entered(ns):
        for name in ("ip_tables_names", "ip6_tables_names"):
            try:
                with open(f"/proc/thread-self/net/{name}") as fh:
                    out[name] = sorted(fh.read().split())
            except FileNotFoundError:  # module not loaded at all: no table anywhere
                out[name] = []
    return out
