"""What a transaction touches, captured before it starts, compared before and after.

`Touched` names the objects: whole nftables tables, iptables-nft user chains (with the jumps
to them from the built-in chains of their table) and files under --root. `capture` reads them
live into a JSON-able snapshot (nft JSON without handles and counters, `iptables -S` lines,
file contents); `view` reduces a snapshot to what must be equal for two states to be the
same, and `fingerprint` hashes that view for optimistic concurrency.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from vnetmigrate import bounded
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import VnmError
from vnetmigrate.firewall import Family
from vnetmigrate.sha256 import sha256
from vnetmigrate.txn import kernel, nftgen
from vnetmigrate.txn.fsutil import OutsideRoot, under_root

# Every built-in chain of each iptables table (the jumps to libvirt's chains can be in any).
BUILTIN_CHAINS = {"filter": ("INPUT", "FORWARD", "OUTPUT"),
                  "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
                  "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
                  "raw": ("PREROUTING", "OUTPUT"), "security": ("INPUT", "FORWARD", "OUTPUT")}


@dataclass(frozen=True)
class Touched:
    """What a plan changes: the tables, chains and files its fingerprint covers."""
    nft_tables: tuple[tuple[str, str], ...] = ()          # (family, table)
    ipt_chains: tuple[tuple[str, str, str], ...] = ()     # (ipv4|ipv6, table, user chain)
    files: tuple[str, ...] = ()                           # paths on the host, read under --root

    def to_dict(self) -> dict[str, Any]:
        return {"nft_tables": [list(t) for t in self.nft_tables],
                "ipt_chains": [list(c) for c in self.ipt_chains], "files": list(self.files)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Touched":
        return cls(tuple(tuple(t) for t in d.get("nft_tables", [])),  # type: ignore[misc]
                   tuple(tuple(c) for c in d.get("ipt_chains", [])),  # type: ignore[misc]
                   tuple(d.get("files", [])))

    def union(self, other: "Touched") -> "Touched":
        def merged(a: tuple, b: tuple) -> tuple:
            return tuple(dict.fromkeys(a + b))
        return Touched(merged(self.nft_tables, other.nft_tables), merged(self.ipt_chains, other.ipt_chains),
                       merged(self.files, other.files))

    def ipt_tables(self) -> dict[str, list[str]]:
        """"family table" -> the user chains touched in it."""
        out: dict[str, list[str]] = {}
        for family, table, chain in self.ipt_chains:
            out.setdefault(f"{family} {table}", []).append(chain)
        return out


def clean(obj: Any) -> Any:
    """nft JSON without handles and with counters reset: comparable, and loadable again."""
    if isinstance(obj, dict):
        if set(obj) == {"counter"} and isinstance(obj["counter"], dict):
            return {"counter": None}
        return {k: clean(v) for k, v in obj.items() if k != "handle"}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj


def nft_table(family: str, name: str) -> list[dict[str, Any]] | None:
    doc = kernel.nft_list(f"table {family} {name}")
    if doc is None:
        return None
    return [clean(item) for item in doc.get("nftables", []) if "metainfo" not in item]


def ipt_table(family: str, table: str, user_chains: list[str], live_chains: list[dict],
              full: bool = False) -> dict[str, Any]:
    """The touched user chains of one iptables-nft table, and its built-in chains.

    A built-in chain is listed with `iptables -S` only when it jumps to a touched chain (its
    nft text says so, in-process) or `full` is asked: its other rules are not ours, and a
    process per chain is what a capture costs.
    """
    if family.endswith("-legacy"):
        return _legacy_table(family, table, user_chains)
    nft_family = Family(family).nft
    present = {c["name"] for c in live_chains if c["family"] == nft_family and c["table"] == table}
    chains = {c: (kernel.ipt_list(family, table, c) if c in present else None) for c in user_chains}
    builtins = {}
    for b in BUILTIN_CHAINS.get(table, ()):
        if b not in present:
            continue
        text = "" if full else kernel.nft_list_stable(f"chain {nft_family} {table} {b}") or ""
        jumps = full or any(_jumps_to(ln, user_chains) for ln in text.splitlines())
        builtins[b] = kernel.ipt_list(family, table, b) if jumps else []
    return {"present": bool(present), "chains": chains, "builtins": builtins}


def _legacy_table(family: str, table: str, user_chains: list[str]) -> dict[str, Any]:
    """A legacy table, from one `iptables-legacy -t TABLE -S`; never opened when it is missing."""
    if table not in kernel.legacy_tables(family):
        return {"present": False, "chains": {c: None for c in user_chains}, "builtins": {}}
    declared, policies, rules = set(), [], {}
    for line in kernel.ipt_show_table(family, table).splitlines():
        words = line.split()
        if words[:1] == ["-N"]:
            declared.add(words[1])
        elif words[:1] == ["-P"]:
            policies.append(words[1])
        elif words[:1] == ["-A"]:
            rules.setdefault(words[1], []).append(line)
    return {"present": True, "chains": {c: rules.get(c, []) if c in declared else None for c in user_chains},
            "builtins": {b: rules.get(b, []) for b in policies}}


class FileUnusable(VnmError):
    """A file a transaction reads or writes is not a regular UTF-8 text file: named, not guessed at."""


def read_file(root: Path, path: str, realpath: Callable[[str], str] = os.path.realpath) -> str | None:
    """The text of `path` under `root`, None when it is absent; FileUnusable when it is not a
    regular file, not UTF-8 (the journal keeps text, and a lossy decode would corrupt it) or
    longer than a configuration file can be (read whole or not at all). `realpath`: see
    fsutil.under_root."""
    target = _under(root, path, realpath)
    try:
        return bounded.read_text(target, bounded.CONFIG_LIMIT)
    except FileNotFoundError:
        return None
    except bounded.Unreadable as exc:
        why = f"{exc.reason}: rewriting it would corrupt it" if "UTF-8" in exc.reason else exc.reason
        raise FileUnusable(f"{target} {why}" if not why.startswith("cannot") else f"cannot read {target}: {why}")


def read_files(root: Path, paths: Iterable[str]) -> dict[str, str | None]:
    """read_file of each of `paths`, resolving each directory once: the 100 status files of
    100 networks took 100 resolutions of their directory and of --root (~3 ms); the same
    checks, the same answers."""
    realpath = functools.cache(os.path.realpath)  # for this call only: the files are read now
    return {p: read_file(root, p, realpath) for p in paths}


def _under(root: Path, path: str, realpath: Callable[[str], str] = os.path.realpath) -> Path:
    try:
        return under_root(root, path, realpath)
    except OutsideRoot as exc:
        raise FileUnusable(f"refused: {exc}")


def written_file_problem(root: Path, path: str) -> str | None:
    """Why a transaction cannot safely rewrite `path` (and restore it), or None.

    Besides what read_file refuses, a symbolic link: the atomic rename would replace the link
    by a regular file, and a rollback could not bring the link back.
    """
    target = _under(root, path)
    if target.is_symlink():
        return f"{target} is a symbolic link: migrate would replace it by a regular file"
    try:
        read_file(root, path)
    except FileUnusable as exc:
        return exc.message
    return None


def capture(touched: Touched, root: Path, full: bool = False) -> dict[str, Any]:
    """`full`: list every built-in chain whole (what computing a restore needs)."""
    live_chains = kernel.chains() if touched.ipt_chains else []
    ipt = {}
    for key, user_chains in touched.ipt_tables().items():
        family, table = key.split()
        ipt[key] = ipt_table(family, table, user_chains, live_chains, full)
    return {"touched": touched.to_dict(),
            "nft": {f"{f} {t}": nft_table(f, t) for f, t in touched.nft_tables},
            "ipt": ipt,
            "files": {p: read_file(root, p) for p in touched.files}}


def jump_target(line: str) -> str | None:
    words = line.split()
    for flag in ("-j", "-g"):
        if flag in words[:-1]:
            return words[words.index(flag) + 1]
    return None


def nft_view(objects: list[dict[str, Any]] | None) -> Any:
    if objects is None:
        return None
    view: dict[str, Any] = {}
    for item in objects:
        (kind, obj), = item.items()
        if kind == "rule":
            view.setdefault(f"chain {obj['chain']}", {}).setdefault("rules", []).append(obj["expr"])
        elif kind == "chain":
            view.setdefault(f"chain {obj['name']}", {}).update(
                {k: v for k, v in obj.items() if k not in ("family", "table", "name")})
        else:
            view[f"{kind} {obj.get('name')}"] = obj
    return view


def view(snap: dict[str, Any]) -> dict[str, Any]:
    """What must be equal for two snapshots to describe the same state.

    Built-in chains count only through their jumps to touched chains (in order): other
    programs' rules there are not ours to compare.
    """
    ipt = {}
    for key, part in snap["ipt"].items():
        ours = set(part["chains"])
        jumps = {b: [ln for ln in lines if jump_target(ln) in ours] for b, lines in part["builtins"].items()}
        ipt[key] = {"chains": part["chains"], "jumps": {b: j for b, j in jumps.items() if j}}
    return {"nft": {k: nft_view(v) for k, v in snap["nft"].items()}, "ipt": ipt, "files": snap["files"]}


def fingerprint(snap: dict[str, Any]) -> str:
    data = json.dumps(view(snap), sort_keys=True, separators=(",", ":")).encode()
    return sha256(data).hexdigest()[:16]


def differences(expected: dict[str, Any], actual: dict[str, Any], any_order: bool = False) -> list[str]:
    """The objects captured in `actual` whose state differs from `expected` (empty: the same).

    `any_order`: each chain's rules may come in another order. For a state libvirt's daemon
    re-created after a restart: it re-applies its networks in an order that changes from run
    to run (docs/libvirt-rules.md §5), so the blocks of two networks interleave differently
    while the rules are the same.
    """
    # Only what `actual` captured: of an iptables table, the chains it names (a step that never
    # ran may have touched other chains of the same table in the snapshot).
    ipt = {key: {**part, "chains": {c: r for c, r in part["chains"].items() if c in actual["ipt"][key]["chains"]}}
           for key, part in expected["ipt"].items() if key in actual["ipt"]}
    a, b = view({**expected, "ipt": ipt}), view(actual)
    if any_order:
        a, b = _unordered(a), _unordered(b)
    out = []
    for section in ("nft", "ipt", "files"):
        for key in sorted(b[section]):
            if a[section].get(key) != b[section].get(key):
                out.append(f"{section} {key}")
    return out


def _unordered(v: dict[str, Any]) -> dict[str, Any]:
    """A view with each chain's rules sorted (nft chains and iptables user chains)."""
    def rules(items: Any) -> Any:
        return sorted(items, key=lambda r: json.dumps(r, sort_keys=True)) if isinstance(items, list) else items

    nft = {k: t if t is None else {name: {**obj, "rules": rules(obj["rules"])} if isinstance(obj, dict) and "rules" in obj
                                   else obj for name, obj in t.items()}
           for k, t in v["nft"].items()}
    ipt = {k: {**part, "chains": {c: rules(r) for c, r in part["chains"].items()}} for k, part in v["ipt"].items()}
    return {**v, "nft": nft, "ipt": ipt}


def probe(touched: Touched) -> str:
    """A cheap fingerprint of the touched kernel objects, for optimistic concurrency.

    Everything comes from libnftables in this process (iptables-nft chains are nftables
    chains too) as plain `nft list` text with packet counters cut out: no process started,
    no JSON parsed, so it can run before every kernel-changing step (1,000 rules: ~10 ms).
    A listing is reused while the namespace's nftables generation is unchanged
    (kernel.nft_list_stable); legacy tables are read every time. The generation is asked once
    before and once after the listings, not once per listing (~50 us each): when it moved
    meanwhile, the fingerprint is made again the per-listing way.
    """
    gen = nftgen.current()
    if gen is not None:
        fingerprint = _probe(touched, gen)
        if nftgen.current() == gen:  # nothing committed meanwhile: every listing kept at gen held
            return fingerprint
    return _probe(touched, None)


def _probe(touched: Touched, at: tuple[int, int] | None) -> str:
    h = sha256()
    for family, name in touched.nft_tables:
        h.update((kernel.nft_list_stable(f"table {family} {name}", at) or "absent").encode())
    if touched.ipt_chains:
        live = {(c["family"], c["table"], c["name"]) for c in kernel.chains(at)}
        for key, user_chains in touched.ipt_tables().items():
            family, table = key.split()
            if family.endswith("-legacy"):
                part = _legacy_table(family, table, user_chains)
                h.update(json.dumps([key, view({"nft": {}, "files": {}, "ipt": {key: part}})]).encode())
                continue
            fam = Family(family).nft
            for chain in [*user_chains, *BUILTIN_CHAINS.get(table, ())]:
                text = None
                if (fam, table, chain) in live:
                    text = kernel.nft_list_stable(f"chain {fam} {table} {chain}", at)
                if text is not None and chain not in user_chains:  # built-in: only the jumps to ours
                    text = "\n".join(ln for ln in text.splitlines() if _jumps_to(ln, user_chains))
                h.update(f"{key} {chain} {text or 'absent'}".encode())
    return h.hexdigest()[:16]


def _jumps_to(line: str, chains: list[str]) -> bool:
    words = line.split()
    return any(w in ("jump", "goto") and i + 1 < len(words) and words[i + 1] in chains for i, w in enumerate(words))
