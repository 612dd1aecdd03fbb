"""Pure builders of step contents that do not depend on libvirt's model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vnetmigrate.txn.snapshot import jump_target


def ipt_chain_removal(table: str, chains: Mapping[str, list[str]], builtins: Mapping[str, list[str]]) -> str:
    """An iptables-restore fragment removing `chains` and every jump to them from `builtins`.

    `chains` maps each chain to remove to its `iptables -S` rule lines as the plan saw them;
    `builtins` maps each built-in chain to its live `iptables -S` rule lines. Every rule is
    deleted by its exact specification, never by flushing: a rule someone adds to one of these
    chains after the plan was made is not named, so the chain is not empty when it is deleted
    and the kernel refuses the table's whole transaction ("Device or resource busy"): the step
    fails and nothing of it happens, instead of deleting a rule nobody saw (HACKING.md).
    """
    names = list(chains)
    if not names:
        return ""
    lines = [f"*{table}"]
    for builtin, rules in builtins.items():
        lines += ["-D" + ln[2:] for ln in rules if jump_target(ln) in names]
    for name in names:
        lines += ["-D" + ln[2:] for ln in chains[name] if ln.startswith("-A ")]
    lines += [f"-X {name}" for name in names]
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
