"""Steps are data until applied (design principle 4): one frozen dataclass per kind of change,
with what it touches, how it is applied and how it is undone.

Pure functions build them (the lower-case builders below; `planner.py`); the engine journals
each one (`to_dict`, and `undo_record`: what undoing it needs) before calling `apply`, and on
rollback rebuilds it from the journal (`Step.from_dict`) and calls `undo`. Every undo restores
the objects the step touches to the transaction's snapshot (plus, for a file, the old content
kept in the journal): undo by state is right whether or not the step's effect happened.

    nft      NftStep      one libnftables JSON batch = one `json_cmd` = one kernel transaction;
                          `exact` removals go as one nfnetlink batch instead (nfdelete.py)
    ipt      IptStep      one `iptables-nft-restore --noflush` (or ip6tables) fragment
    legacy   LegacyStep   remove chains (and the jumps to them) from legacy x_tables through
                          python-iptables, one commit per table; only tables the kernel already
                          has. Its undo restores them with `iptables-legacy-restore --noflush`
                          (python-iptables would create the family's other legacy tables when it
                          writes libvirt's CHECKSUM rule, see HACKING.md)
    file     FileStep     write a file atomically under --root
    restart  RestartStep  run a command (restart libvirt's network daemon)
    verify   VerifyStep   compare the live state with an expectation; changes nothing
    dedupe   DedupeStep   remove the extra copies of libvirt's rules a daemon restart re-created
                          on top of ours (computed from the live state when it runs: which copy
                          libvirt recorded)
    command  CommandStep  run a program that keeps its own state (ufw, firewall-cmd, iptables); its
                          undo is an exact inverse command, journaled with it (the state it changes
                          is not one the snapshot can capture)
    hook     HookStep     put the rules of one file of the repair's libvirt network hook in place
                          now (the shipped hook's --apply); undo: the hook's --remove
    install  InstallStep  a FileStep with a file mode (an executable hook) that also removes, on
                          undo, the directories it had to create

The journal keeps each step as {"kind", "title", "data", "touches"}: that format is what
journals on disk hold, so `to_data`/`from_data` keep it exactly (tests/unit/test_txn_steps.py
rolls back a journal written before these classes existed).
"""

from __future__ import annotations

from dataclasses import field, replace
from pathlib import Path
from typing import Any, ClassVar

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.firewall import Backend, Family
from vnetmigrate.txn import execute, kernel, snapshot
from vnetmigrate.txn.snapshot import Touched


@dataclass(frozen=True, kw_only=True)
class Step:
    """One change of a plan. Subclasses set `kind`, their fields, `apply` and `to_data`."""

    kind: ClassVar[str]
    changes_kernel: ClassVar[bool] = True  # the engine checks for foreign changes before it runs
    title: str
    touches: Touched = field(default_factory=Touched)

    def apply(self, root: Path) -> dict[str, Any]:
        """Make the change; return what the journal's `done` record keeps about it."""
        raise NotImplementedError

    def undo(self, snap: dict[str, Any], root: Path) -> None:
        """Bring what the step touches back to the snapshot (idempotent)."""
        execute.restore_to(snap, self.touches, root)

    def undo_record(self) -> dict[str, Any]:
        """What undoing the step needs, written to the journal before the step runs."""
        return {"restore": self.touches.to_dict()}

    def to_data(self) -> dict[str, Any]:
        """The step's `data` in the journal: journals on disk hold this shape, keep it readable."""
        raise NotImplementedError

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "Step":
        """The step back from its journal `data` (the inverse of `to_data`)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "data": self.to_data(), "touches": self.touches.to_dict()}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Step":
        """The step a journal's intent record (its `do`) or a plan's `to_dict` describes."""
        kind = KINDS.get(d.get("kind"))  # type: ignore[arg-type]
        if kind is None:
            raise ValueError(f"unknown step kind {d.get('kind')!r}")
        return kind.from_data(d["title"], d["data"], Touched.from_dict(d["touches"]))


@dataclass(frozen=True, kw_only=True)
class NftStep(Step):
    """An nftables batch."""
    kind: ClassVar[str] = "nft"
    commands: list[dict[str, Any]]
    # Only deletions, of rules by handle and of chains and tables that must hold nothing else
    # by then: the kernel refuses the whole batch over anything they do not name (nfdelete.py).
    exact: bool = False
    # An exact removal of iptables-nft rules (iptexact.py): the chains as the plan saw them,
    # checked right before the batch, which carries the generation of that check.
    expected: dict[str, Any] | None = None
    # Commands as `nft -f` text (one batch as well), instead of `commands`: libnftables 1.0.6
    # parses libvirt's rules of 500 networks in half the time, and the journal keeps a third of
    # the JSON. Its tables are those it touches.
    text: str | None = None

    def apply(self, root: Path) -> dict[str, Any]:
        if self.exact:
            from vnetmigrate.txn import iptexact, nfdelete

            generation = iptexact.check(self.expected) if self.expected else None
            nfdelete.delete_exactly(self.commands, generation)
        elif self.text is not None:
            kernel.nft_apply_text(self.text, set(self.touches.nft_tables))
        else:
            kernel.nft_apply(self.commands)
        return {}

    def to_data(self) -> dict[str, Any]:
        if self.text is not None:
            return {"text": self.text}
        return {"commands": self.commands, **({"exact": True} if self.exact else {}),
                **({"expected": self.expected} if self.expected else {})}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "NftStep":
        if isinstance(data.get("text"), str):
            return cls(title=title, touches=touches, commands=[], text=data["text"])
        return cls(title=title, touches=touches, commands=data["commands"], exact=data.get("exact") is True,
                   expected=data.get("expected") or None)


@dataclass(frozen=True, kw_only=True)
class IptStep(Step):
    """An iptables-restore --noflush fragment."""
    kind: ClassVar[str] = "ipt"
    family: Family
    fragment: str

    def apply(self, root: Path) -> dict[str, Any]:
        """One restore per table (each COMMIT block is one kernel transaction anyway): a block the
        kernel refuses changed nothing, so what the step changed is exactly the blocks before it
        (kernel.NothingChanged, kernel.PartlyChanged), and a rollback restores only those tables:
        a rule someone added to a refused table's chains stays."""
        done: list[str] = []
        for table, block in _blocks(self.fragment):
            try:
                kernel.ipt_restore(self.family.value, block)
            except kernel.KernelError as exc:
                if not done:
                    raise kernel.NothingChanged(exc.message) from exc
                raise kernel.PartlyChanged(f"{exc.message}\n(tables {', '.join(done)} were already changed)", Touched(
                    ipt_chains=tuple(c for c in self.touches.ipt_chains if c[1] in done))) from exc
            done.append(table)
        return {}

    def to_data(self) -> dict[str, Any]:
        return {"family": self.family.value, "fragment": self.fragment}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "IptStep":
        return cls(title=title, touches=touches, family=Family(data["family"]), fragment=data["fragment"])


def _blocks(fragment: str) -> list[tuple[str, str]]:
    """An iptables-restore fragment as (table, its `*table` ... `COMMIT` block), in order."""
    out: list[tuple[str, str]] = []
    lines: list[str] = []
    for line in fragment.splitlines():
        lines.append(line)
        if line.strip() == "COMMIT":
            out.append((lines[0].lstrip("*").strip(), "\n".join(lines) + "\n"))
            lines = []
    if any(ln.strip() for ln in lines):  # no COMMIT: restore refuses it, and says why
        out.append(("?", "\n".join(lines) + "\n"))
    return out


@dataclass(frozen=True, kw_only=True)
class LegacyStep(Step):
    """The removal of legacy iptables chains."""
    kind: ClassVar[str] = "legacy"
    family: Family
    tables: dict[str, list[str]]  # table -> the chains to remove

    @property
    def key(self) -> str:
        return legacy_key(self.family)

    def apply(self, root: Path) -> dict[str, Any]:
        for table, chains in self.tables.items():
            kernel.legacy_remove(self.key, table, chains)
        return {}

    def to_data(self) -> dict[str, Any]:
        return {"family": self.key, "tables": self.tables}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "LegacyStep":
        return cls(title=title, touches=touches, family=Family(data["family"].removesuffix("-legacy")),
                   tables=data["tables"])


@dataclass(frozen=True, kw_only=True)
class FileStep(Step):
    """A file written or removed under the root."""
    kind: ClassVar[str] = "file"
    changes_kernel: ClassVar[bool] = False
    path: str
    content: str | None      # None: remove the file
    old_content: str | None  # None: it was absent; the undo writes it back

    def apply(self, root: Path) -> dict[str, Any]:
        execute.write_file(root, self.path, self.content)
        return {}

    def undo(self, snap: dict[str, Any], root: Path) -> None:
        if snapshot.read_file(root, self.path) != self.old_content:
            execute.write_file(root, self.path, self.old_content)
        execute.restore_to(snap, replace(self.touches, files=()), root)

    def undo_record(self) -> dict[str, Any]:
        return {**super().undo_record(), "old_content": self.old_content}

    def to_data(self) -> dict[str, Any]:
        return {"path": self.path, "content": self.content, "old_content": self.old_content}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "FileStep":
        return cls(title=title, touches=touches, path=data["path"], content=data["content"],
                   old_content=data["old_content"])


@dataclass(frozen=True, kw_only=True)
class RestartStep(Step):
    """Its undo restores the snapshot; the engine then restarts the daemon again (`settle`)."""

    kind: ClassVar[str] = "restart"
    argv: list[str]
    # How a rollback restarts the daemon again under the old configuration:
    # {"backend": old backend, "status_dir": ..., "guard": {"nft": [...], "ipt": {family: fragment}}}
    # — guard its traffic, restart, then remove the guard and the copies it re-created.
    settle: dict[str, Any] | None = None

    def apply(self, root: Path) -> dict[str, Any]:
        execute.run_command(self.argv)
        return {}

    def undo_record(self) -> dict[str, Any]:
        return {**super().undo_record(), "restart_after_restore": self.argv,
                **({"settle": self.settle} if self.settle else {})}

    def to_data(self) -> dict[str, Any]:
        return {"argv": self.argv, **({"settle": self.settle} if self.settle else {})}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "RestartStep":
        return cls(title=title, touches=touches, argv=data["argv"], settle=data.get("settle"))


@dataclass(frozen=True, kw_only=True)
class VerifyStep(Step):
    """A check of what the steps before it did."""
    kind: ClassVar[str] = "verify"
    changes_kernel: ClassVar[bool] = False
    check: str  # a name in execute.VERIFIERS
    args: dict[str, Any]

    def apply(self, root: Path) -> dict[str, Any]:
        problems = execute.VERIFIERS[self.check](**self.args)
        if problems:
            raise kernel.KernelError(f"verification failed ({self.title}): " + "; ".join(problems))
        return {}

    def to_data(self) -> dict[str, Any]:
        return {"check": self.check, "args": self.args}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "VerifyStep":
        return cls(title=title, touches=touches, check=data["check"], args=data["args"])


@dataclass(frozen=True, kw_only=True)
class DedupeStep(Step):
    """The removal of libvirt rules duplicated in a backend."""
    kind: ClassVar[str] = "dedupe"
    backend: Backend
    status_dir: str

    def apply(self, root: Path) -> dict[str, Any]:
        return execute.dedupe(self.backend, root, self.status_dir)

    def to_data(self) -> dict[str, Any]:
        return {"backend": self.backend.value, "status_dir": self.status_dir}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "DedupeStep":
        return cls(title=title, touches=touches, backend=Backend(data["backend"]), status_dir=data["status_dir"])


@dataclass(frozen=True, kw_only=True)
class CommandStep(Step):
    """Run `argv`; the undo runs `undo_argv`, its exact inverse (`ufw allow ...` / `ufw delete
    allow ...`). An undo that finds its work already done (the step never took effect) must
    succeed: its program says so with exit 0, or with output containing one of `undone_if`."""

    kind: ClassVar[str] = "command"
    argv: list[str]
    undo_argv: list[str]
    undone_if: tuple[str, ...] = ()

    def apply(self, root: Path) -> dict[str, Any]:
        execute.run_program(self.argv)
        return {}

    def undo(self, snap: dict[str, Any], root: Path) -> None:
        execute.run_program(self.undo_argv, undone_if=self.undone_if)
        execute.restore_to(snap, self.touches, root)

    def undo_record(self) -> dict[str, Any]:
        return {**super().undo_record(), "argv": self.undo_argv}

    def to_data(self) -> dict[str, Any]:
        return {"argv": self.argv, "undo_argv": self.undo_argv, "undone_if": list(self.undone_if)}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "CommandStep":
        return cls(title=title, touches=touches, argv=list(data["argv"]), undo_argv=list(data["undo_argv"]),
                   undone_if=tuple(data.get("undone_if", ())))


@dataclass(frozen=True, kw_only=True)
class HookStep(Step):
    """Apply the rules file `rules` (under --root) with the shipped libvirt network hook, as
    libvirt will run it when a network starts; the undo deletes exactly those rules (tagged with
    the file's name). Rules inside libvirt's own table cannot be restored from a snapshot: that
    would re-create the table and change the handles libvirt's removal recipe names."""

    kind: ClassVar[str] = "hook"
    rules: str

    def apply(self, root: Path) -> dict[str, Any]:
        execute.run_hook(root, "--apply", self.rules)
        return {}

    def undo(self, snap: dict[str, Any], root: Path) -> None:
        execute.run_hook(root, "--remove", self.rules)
        execute.restore_to(snap, self.touches, root)

    def to_data(self) -> dict[str, Any]:
        return {"rules": self.rules}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "HookStep":
        return cls(title=title, touches=touches, rules=data["rules"])


@dataclass(frozen=True, kw_only=True)
class InstallStep(FileStep):
    """Write a file with `mode`, creating `made_dirs` (outermost first) for it; the undo puts the
    old content back (or removes the file) and removes those directories again when empty."""

    kind: ClassVar[str] = "install"
    mode: int
    made_dirs: tuple[str, ...] = ()

    def apply(self, root: Path) -> dict[str, Any]:
        execute.write_file(root, self.path, self.content, mode=self.mode)
        return {}

    def undo(self, snap: dict[str, Any], root: Path) -> None:
        super().undo(snap, root)
        execute.remove_empty_dirs(root, self.made_dirs)

    def to_data(self) -> dict[str, Any]:
        return {**super().to_data(), "mode": self.mode, "made_dirs": list(self.made_dirs)}

    @classmethod
    def from_data(cls, title: str, data: dict[str, Any], touches: Touched) -> "InstallStep":
        return cls(title=title, touches=touches, path=data["path"], content=data["content"],
                   old_content=data["old_content"], mode=int(data["mode"]), made_dirs=tuple(data["made_dirs"]))


KINDS: dict[str, type[Step]] = {k.kind: k for k in (NftStep, IptStep, LegacyStep, FileStep, RestartStep,
                                                    VerifyStep, DedupeStep, CommandStep, HookStep,
                                                    InstallStep)}


def nft(title: str, commands: list[dict[str, Any]], tables: list[tuple[str, str]], exact: bool = False) -> NftStep:
    """`exact`: `commands` only delete, and the kernel must refuse them over anything they do not name."""
    return NftStep(title=title, commands=commands, touches=Touched(nft_tables=tuple(tables)), exact=exact)


def nft_text(title: str, text: str, tables: list[tuple[str, str]]) -> NftStep:
    """Load `text` (`nft -f` input changing only `tables`) as one kernel transaction."""
    return NftStep(title=title, commands=[], text=text, touches=Touched(nft_tables=tuple(tables)))


def ipt(title: str, family: Family | str, fragment: str, chains: list[tuple[str, str]]) -> IptStep:
    """`chains`: the (table, user chain) pairs the fragment changes, with the jumps to them."""
    fam = Family(family)
    return IptStep(title=title, family=fam, fragment=fragment,
                   touches=Touched(ipt_chains=tuple((fam.value, t, c) for t, c in chains)))


def legacy_key(family: Family) -> str:
    """How the kernel module and the snapshot name a family's legacy tables: "ipv4-legacy"."""
    return f"{family.value}-legacy"


def legacy(title: str, family: Family | str, tables: dict[str, list[str]]) -> LegacyStep:
    """Remove the named chains of legacy tables of `family`."""
    key = legacy_key(Family(family))
    return LegacyStep(title=title, family=Family(family), tables=tables,
                      touches=Touched(ipt_chains=tuple((key, t, c) for t, chains in tables.items() for c in chains)))


def file(title: str, path: str, content: str | None, old_content: str | None) -> FileStep:
    """Write `content` to `path` (None: remove it); `old_content` (None: it was absent) is the undo."""
    return FileStep(title=title, path=path, content=content, old_content=old_content, touches=Touched(files=(path,)))


def command(title: str, argv: list[str], undo_argv: list[str], undone_if: tuple[str, ...] = ()) -> CommandStep:
    """Run `argv` (a program of execute.PROGRAMS); `undo_argv` is its exact inverse."""
    return CommandStep(title=title, argv=list(argv), undo_argv=list(undo_argv), undone_if=tuple(undone_if))


def hook(title: str, rules: str, touches: Touched = Touched()) -> HookStep:
    """Apply the rules file `rules` now, as the installed libvirt hook will at every network start.
    `touches`: the iptables chains its rules go into (snapshotted, and compared after a rollback);
    never libvirt's nft table, which a restore would re-create with new handles."""
    return HookStep(title=title, rules=rules, touches=touches)


def install(title: str, path: str, content: str, old_content: str | None, mode: int,
            made_dirs: tuple[str, ...] = ()) -> InstallStep:
    """Write `content` to `path` with `mode`; `made_dirs`: the directories that do not exist yet."""
    return InstallStep(title=title, path=path, content=content, old_content=old_content, mode=mode,
                       made_dirs=tuple(made_dirs), touches=Touched(files=(path,)))


def restart(title: str, argv: list[str], touches: Touched = Touched(),
            settle: dict[str, Any] | None = None) -> RestartStep:
    """Run `argv`; `touches`: what the command may change (libvirt's tables and chains)."""
    return RestartStep(title=title, argv=list(argv), settle=settle or None, touches=touches)


def verify(title: str, check: str, **args: Any) -> VerifyStep:
    return VerifyStep(title=title, check=check, args=args)


def dedupe(title: str, backend: Backend | str, status_dir: str, touches: Touched) -> DedupeStep:
    return DedupeStep(title=title, backend=Backend(backend), status_dir=status_dir, touches=touches)


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
