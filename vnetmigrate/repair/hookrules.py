"""Accept rules kept in place by vnetmigrate's libvirt network hook (vnetmigrate/data/).

libvirt runs the hook each time a network starts (at boot too), right after the network's own
rules are in: it puts back every rule of the files in RULES_DIR, first in its chain. A remedy
that needs such rules gets three steps: install the hook (once), write its own rules file, and
apply that file now; rolling back deletes those rules, the file and the hook (and the
directories the repair created). Why a hook and not a systemd unit: vnetmigrate(8),
"Persistent workarounds".
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from vnetmigrate.firewall import Family
from vnetmigrate.txn import execute, steps
from vnetmigrate.txn.snapshot import BUILTIN_CHAINS, Touched, read_file

HOOK = "/etc/libvirt/hooks/network.d/vnetmigrate"
RULES_DIR = "/etc/libvirt/hooks/vnetmigrate.d"


def missing_dirs(root: Path, path: str) -> tuple[str, ...]:
    """The directories leading to `path` that do not exist under `root`, outermost first."""
    out: list[str] = []
    d = posixpath.dirname(path)
    while d not in ("/", "") and not (root / d.lstrip("/")).is_dir():
        out.insert(0, d)
        d = posixpath.dirname(d)
    return tuple(out)


def rules_path(name: str) -> str:
    return f"{RULES_DIR}/{name}.rules"


def iptables_chains(lines: list[str]) -> Touched:
    """The iptables chains the rules lines go into, as the transaction's snapshot names them."""
    chains = []
    for line in lines:
        program, table, chain = line.split()[:3]
        if program == "nft" or chain in BUILTIN_CHAINS.get(table, ()):
            continue  # a snapshot restores user chains whole: not libvirt's table, not FORWARD
        family = (Family.IPV6 if program.startswith("ip6") else Family.IPV4).value
        chains.append((f"{family}-legacy" if program.endswith("-legacy") else family, table, chain))
    return Touched(ipt_chains=tuple(dict.fromkeys(chains)))


def kept_by_hook(root: Path, name: str, why: str, lines: list[str]) -> tuple[steps.Step, ...]:
    """Steps that keep `lines` (PROGRAM TABLE CHAIN RULE..., see the hook) in place from now on.

    `name` (the finding's id) names the rules file and tags each rule in the kernel, so
    rolling back deletes exactly these rules."""
    out: list[steps.Step] = []
    script = execute.hook_script()
    old = read_file(root, HOOK)
    if old != script:
        out.append(steps.install(f"install vnetmigrate's libvirt network hook {HOOK}", HOOK, script, old, 0o755,
                                 missing_dirs(root, HOOK)))
    path = rules_path(name)
    text = f"# Written by `vnetmigrate repair` ({name}): {why}.\n# Put back by {HOOK} whenever a " \
           "libvirt network starts; `vnetmigrate rollback` removes it.\n" + "".join(f"{ln}\n" for ln in lines)
    out.append(steps.install(f"write {path}: the rules the hook puts back at every network start", path, text,
                             read_file(root, path), 0o644, missing_dirs(root, path)))
    out.append(steps.hook(f"put the rules of {path} in place now", path, iptables_chains(lines)))
    return tuple(out)
