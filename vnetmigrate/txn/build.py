"""Pure builders of step contents that do not depend on libvirt's model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vnetmigrate.txn.snapshot import jump_target


def ipt_chain_removal(table: str, chains: Iterable[str], builtins: Mapping[str, list[str]]) -> str:
    """An iptables-restore fragment removing `chains` and every jump to them from `builtins`.

    `builtins` maps each built-in chain to its live `iptables -S` rule lines. Only the jumps
    to the named chains are deleted (by their exact specification); every other rule of the
    built-in chains stays. Each chain is flushed, then deleted, in one transaction.
    """
    names = list(chains)
    if not names:
        return ""
    lines = [f"*{table}"]
    for builtin, rules in builtins.items():
        lines += ["-D" + ln[2:] for ln in rules if jump_target(ln) in names]
    for name in names:
        lines += [f"-F {name}", f"-X {name}"]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def nft_replay(objects: list[dict]) -> list[dict]:
    """`add` commands re-creating listed nft objects (handles and counters already cleaned)."""
    out = []
    for item in objects:
        (kind, obj), = item.items()
        if kind != "metainfo":
            out.append({"add": {kind: obj}})
    return out
