"""What steps' `apply` and `undo` (steps.py) do to the live host, inside the transaction's namespace:
write files, run commands, restore a snapshot, remove duplicates, verify."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from vnetmigrate import bounded
from vnetmigrate.programs import which
from vnetmigrate.firewall import Backend, Family
from vnetmigrate.txn import kernel, restore, snapshot
from vnetmigrate.txn.fsutil import OutsideRoot, atomic_write, remove_durably, under_root
from vnetmigrate.txn.kernel import KernelError
from vnetmigrate.txn.snapshot import Touched

RESTART_TIMEOUT = 180


def local(root: Path, path: str) -> Path:
    """`path` under `root`; a path from a (crafted) journal leading outside it is refused."""
    try:
        return under_root(root, path)
    except OutsideRoot as exc:
        raise KernelError(f"refused: {exc}")


def dedupe(backend: Backend | str, root: Path, status_dir: str) -> dict[str, Any]:
    from vnetmigrate.txn import livecheck

    if Backend(backend) is Backend.NFTABLES:
        directory = local(root, status_dir)
        texts = [bounded.read_text(p, bounded.CONFIG_LIMIT) for p in sorted(directory.glob("*.xml"))] \
            if directory.is_dir() else []
        cmds = livecheck.nft_dedupe(texts)
        if cmds:
            kernel.nft_apply(cmds)
        return {"removed": len(cmds)}
    fragments = livecheck.ipt_dedupe()
    for family, fragment in fragments.items():
        kernel.ipt_restore(family, fragment)
    return {"removed": sum(f.count("\n-D ") for f in fragments.values())}


def write_file(root: Path, path: str, content: str | None, mode: int | None = None) -> None:
    target = local(root, path)
    try:
        if content is None:
            remove_durably(target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, content, mode=mode)
    except OSError as exc:
        raise KernelError(f"cannot write {target}: {exc.strerror or exc}")


def remove_empty_dirs(root: Path, dirs: tuple[str, ...] | list[str]) -> None:
    """Remove `dirs` (outermost first, as created) innermost first, each only while empty."""
    for d in reversed(list(dirs)):
        try:
            local(root, d).rmdir()
        except FileNotFoundError:
            pass
        except OSError:  # not empty: someone else put a file there since; keep it
            return


# Programs a command step may run, by name from PATH. A journal is data: a crafted one must
# not make a rollback run anything else.
PROGRAMS = frozenset({"ufw", "firewall-cmd", "iptables-nft", "ip6tables-nft", "iptables-legacy",
                      "ip6tables-legacy"})
# The libvirt network hook `vnetmigrate repair` installs, as shipped in the package; a hook step
# runs this copy (not the installed one, which a rollback may already have removed).
HOOK_SCRIPT = "data/libvirt-network-hook"


def hook_script() -> str:
    from importlib import resources  # ~5 ms of start-up: only for hook steps

    return (resources.files("vnetmigrate") / HOOK_SCRIPT).read_text(encoding="utf-8")


def run_program(argv: list[str], undone_if: tuple[str, ...] = ()) -> str:
    """Run a command step's `argv`; its output. A failure whose output contains one of
    `undone_if` (the program saying there is nothing to undo) counts as success."""
    program = argv[0] if argv else ""
    if program not in PROGRAMS:
        raise KernelError(f"refused: a command step may not run {program!r}")
    exe = which(program)
    if exe is None:
        raise KernelError(f"`{program}` is not installed")
    return _run([exe, *argv[1:]], " ".join(argv), undone_if)


def run_hook(root: Path, op: str, rules: str) -> str:
    """Run the shipped hook on one rules file under `root`: `--apply` puts its rules back (each
    deleted wherever it is, then inserted first in its chain), `--remove` deletes them."""
    if op not in ("--apply", "--remove"):
        raise KernelError(f"refused: unknown hook operation {op!r}")
    path = local(root, rules)
    return _run(["sh", "-c", hook_script(), "vnetmigrate-hook", op, str(path)], f"libvirt hook {op} {path}")


def _run(argv: list[str], display: str, undone_if: tuple[str, ...] = ()) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=RESTART_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KernelError(f"`{display}` could not run: {exc}")
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and not any(m in output for m in undone_if):
        raise KernelError(f"`{display}` failed (exit {proc.returncode}): {output.strip()[-500:]}")
    return output


def run_command(argv: list[str]) -> None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=RESTART_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KernelError(f"`{' '.join(argv)}` could not run: {exc}")
    if proc.returncode != 0:
        raise KernelError(f"`{' '.join(argv)}` failed (exit {proc.returncode}): "
                          f"{(proc.stderr or proc.stdout).strip()[-500:]}")


def restart_again(argv: list[str], settle: dict[str, Any] | None, snap: dict[str, Any], touched: Touched,
                  root: Path) -> None:
    """Rollback after a daemon restart: restart it under the old configuration.

    With `settle` (libvirt's daemon): guard guests' traffic, restart, then remove the guard
    and the copies of the old rules it re-created, keeping the ones its status files name.
    Without: restart, then restore the snapshot again over whatever the command re-created.
    """
    if not settle:
        run_command(argv)
        restore_to(snap, touched, root)
        return
    guard = settle.get("guard") or {}
    # Only where the restored state has libvirt's table: the old state may have none (libvirt
    # 11's silent switch on a kernel without act_csum leaves no rule to guard), and a guard
    # rule cannot go into a table that is not there.
    present = {key for key, table in (snap.get("nft") or {}).items() if table is not None}
    nft_guard = [c for c in guard.get("nft") or ()
                 if f"{c['insert']['rule']['family']} {c['insert']['rule']['table']}" in present]
    if nft_guard:
        kernel.nft_apply(nft_guard)
    for family, fragment in (guard.get("ipt") or {}).items():
        kernel.ipt_restore(family, fragment)
    try:
        run_command(argv)
    finally:  # the guard goes, whether the daemon came back or not
        dedupe(settle["backend"], root, settle["status_dir"])


def restore_to(snap: dict[str, Any], touched: Touched, root: Path) -> None:
    """Bring the `touched` objects back to `snap` (idempotent; nothing else is named).

    Make before break here too: objects the snapshot has are restored first, objects it
    lacks are removed last, so rolling back a migration never leaves guests without rules.
    """
    # A table the snapshot lacks only has to go: whether it exists is all that is read of it
    # (its listing is what a rollback of 500 networks' tables spent most of its time on).
    absent = {(f, t) for f, t in touched.nft_tables if f"{f} {t}" in snap["nft"] and snap["nft"][f"{f} {t}"] is None}
    live = snapshot.capture(replace(touched, nft_tables=tuple(k for k in touched.nft_tables if k not in absent)),
                            root, full=True)
    fill, drop = [], []
    for family, name in sorted(k for k in absent if kernel.table_exists(*k)):
        drop.append(lambda f=family, n=name: kernel.nft_apply([{"delete": {"table": {"family": f, "name": n}}}]))
    for key in live["nft"]:
        cmds = restore.nft_table(key, snap["nft"][key], live["nft"][key])
        if cmds:
            (drop if snap["nft"][key] is None else fill).append(lambda c=cmds: kernel.nft_apply(c))
    for key in live["ipt"]:
        family, table = key.split()
        fragment = restore.ipt_table(table, snap["ipt"][key], live["ipt"][key])
        removing = all(rules is None for rules in snap["ipt"][key]["chains"].values())
        if fragment:
            (drop if removing else fill).append(lambda f=family, t=fragment: kernel.ipt_restore(f, t))
        if not snap["ipt"][key]["present"] and not family.endswith("-legacy"):
            drop.append(lambda f=family, t=table: _drop_empty_table(f, t))
    for action in fill + drop:
        action()
    for path in live["files"]:
        if live["files"][path] != snap["files"][path]:
            write_file(root, path, snap["files"][path])


def _drop_empty_table(family: str, table: str) -> None:
    """An iptables-nft table the transaction created goes again if nothing else is in it."""
    fam = Family(family).nft
    chains = [c for c in kernel.chains() if c["family"] == fam and c["table"] == table]
    if not chains or any(c.get("hook") is None for c in chains):
        return
    if all(not kernel.ipt_list(family, table, c["name"]) for c in chains):
        kernel.nft_apply([{"delete": {"table": {"family": fam, "name": table}}}])


# -- verification checks (data: a name and arguments) ---------------------------------------

def _nft_rule_counts(table: str, chains: dict[str, int]) -> list[str]:
    family, name = table.split()
    objs = snapshot.nft_table(family, name)
    if objs is None:
        return [f"table {table} is missing"]
    counts: dict[str, int] = {}
    for item in objs:
        if "rule" in item:
            counts[item["rule"]["chain"]] = counts.get(item["rule"]["chain"], 0) + 1
    return [f"{table} {c}: {counts.get(c, 0)} rules, expected {n}" for c, n in chains.items()
            if counts.get(c, 0) != n]


def _ipt_rule_counts(family: str, table: str, chains: dict[str, int]) -> list[str]:
    out = []
    for chain, n in chains.items():
        try:
            got = len(kernel.ipt_list(family, table, chain))
        except KernelError:
            got = -1
        if got != n:
            out.append(f"{family} {table} {chain}: {'missing' if got < 0 else f'{got} rules'}, expected {n}")
    return out


def _libvirt_rules(status_files: list[str], version: str, backend: str, final: bool = False,
                   accept: list[str] = ()) -> list[str]:
    from vnetmigrate.txn import livecheck

    return livecheck.problems(status_files, version, backend, final, accept)


def _nft_listing(expected: list[str], final: bool = False, accept: list[str] = ()) -> list[str]:
    from vnetmigrate.txn import livecheck

    return livecheck.nft_listing_problems(expected, final, accept)


VERIFIERS = {"nft-rule-counts": _nft_rule_counts, "ipt-rule-counts": _ipt_rule_counts,
             "libvirt-rules": _libvirt_rules, "nft-listing": _nft_listing}
