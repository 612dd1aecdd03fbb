"""Steps are data (design principle 4): what to do, what it touches, and its undo.

Pure functions build them; `execute.py` runs them. Each step's undo is a record too: restore
the objects it touches to the transaction's snapshot (plus, for a file, the old content kept
in the journal). Undo by state is right whether or not the step's effect happened.

    nft      one libnftables JSON batch = one `json_cmd` = one kernel transaction
    ipt      one `iptables-nft-restore --noflush` (or ip6tables) fragment
    legacy   remove chains (and the jumps to them) from legacy x_tables through python-iptables,
             one commit per table; only tables the kernel already has. Its undo restores them
             with `iptables-legacy-restore --noflush` (python-iptables would create the family's
             other legacy tables when it writes libvirt's CHECKSUM rule, see HACKING.md)
    file     write a file atomically under --root
    restart  run a command (restart libvirt's network daemon)
    verify   compare the live state with an expectation; changes nothing
    dedupe   remove the extra copies of libvirt's rules a daemon restart re-created on top of
             ours (computed from the live state when it runs: which copy libvirt recorded)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vnetmigrate.txn.snapshot import Touched

KINDS = ("nft", "ipt", "legacy", "file", "restart", "verify", "dedupe")
KERNEL_KINDS = ("nft", "ipt", "legacy", "restart", "dedupe")


@dataclass(frozen=True)
class Step:
    kind: str
    title: str
    data: dict[str, Any]
    touches: Touched = field(default_factory=Touched)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown step kind {self.kind!r}")

    @property
    def changes_kernel(self) -> bool:
        return self.kind in KERNEL_KINDS

    @property
    def undo(self) -> dict[str, Any]:
        """The undo record written to the journal before the step runs."""
        undo: dict[str, Any] = {"restore": self.touches.to_dict()}
        if self.kind == "file":
            undo["old_content"] = self.data["old_content"]
        if self.kind == "restart":
            undo["restart_after_restore"] = self.data["argv"]
            if self.data.get("settle"):
                undo["settle"] = self.data["settle"]
        return undo

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "data": self.data, "touches": self.touches.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Step":
        return cls(d["kind"], d["title"], d["data"], Touched.from_dict(d["touches"]))


def nft(title: str, commands: list[dict[str, Any]], tables: list[tuple[str, str]]) -> Step:
    return Step("nft", title, {"commands": commands}, Touched(nft_tables=tuple(tables)))


def ipt(title: str, family: str, fragment: str, chains: list[tuple[str, str]]) -> Step:
    """`chains`: the (table, user chain) pairs the fragment changes, with the jumps to them."""
    if family not in ("ipv4", "ipv6"):
        raise ValueError(family)
    return Step("ipt", title, {"family": family, "fragment": fragment},
                Touched(ipt_chains=tuple((family, t, c) for t, c in chains)))


def legacy(title: str, family: str, tables: dict[str, list[str]]) -> Step:
    """Remove the named chains of legacy tables; `family` "ipv4" or "ipv6"."""
    fam = f"{family}-legacy"
    return Step("legacy", title, {"family": fam, "tables": tables},
                Touched(ipt_chains=tuple((fam, t, c) for t, chains in tables.items() for c in chains)))


def file(title: str, path: str, content: str | None, old_content: str | None) -> Step:
    """Write `content` to `path` (None: remove it); `old_content` (None: it was absent) is the undo."""
    return Step("file", title, {"path": path, "content": content, "old_content": old_content},
                Touched(files=(path,)))


def restart(title: str, argv: list[str], touches: Touched = Touched(),
            settle: dict[str, Any] | None = None) -> Step:
    """Run `argv`; `touches`: what the command may change (libvirt's tables and chains).

    `settle` says how a rollback restarts the daemon again under the old configuration:
    {"backend": old backend, "status_dir": ..., "guard": {"nft": [...], "ipt": {family: fragment}}}
    — guard its traffic, restart, then remove the guard and the copies it re-created.
    """
    data: dict[str, Any] = {"argv": list(argv)}
    if settle:
        data["settle"] = settle
    return Step("restart", title, data, touches)


def verify(title: str, check: str, **args: Any) -> Step:
    return Step("verify", title, {"check": check, "args": args})


def dedupe(title: str, backend: str, status_dir: str, touches: Touched) -> Step:
    return Step("dedupe", title, {"backend": backend, "status_dir": status_dir}, touches)


@dataclass(frozen=True)
class Plan:
    """An ordered list of steps, and the fingerprint of the state they were computed from."""

    title: str
    steps: tuple[Step, ...]
    fingerprint: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def touched(self) -> Touched:
        out = Touched()
        for step in self.steps:
            out = out.union(step.touches)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "fingerprint": self.fingerprint, "meta": self.meta,
                "touched": self.touched.to_dict(), "steps": [s.to_dict() for s in self.steps]}
