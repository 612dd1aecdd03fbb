"""Commands that bring touched objects back to a snapshot, computed from the live state.

Undo is state-based: "make these tables, chains and files what the snapshot says". Such an
undo is right whether the step it undoes took effect, half took effect (a crash between the
kernel accepting it and the journal recording it) or never ran, and running it twice is
harmless. Pure functions: the snapshot part and the live part in, commands out.
"""

from __future__ import annotations

from typing import Any

from vnetmigrate.txn.build import nft_replay
from vnetmigrate.txn.snapshot import jump_target, nft_view


def nft_table(key: str, want: list[dict[str, Any]] | None, live: list[dict[str, Any]] | None) -> list[dict]:
    """libnftables commands turning table `key` ("family name") from `live` into `want`.

    One json_cmd: the old table is deleted and the snapshot's re-added in the same kernel
    transaction, so no packet ever sees the table missing.
    """
    if nft_view(want) == nft_view(live):
        return []
    family, name = key.split()
    cmds: list[dict] = []
    if live is not None:
        cmds.append({"delete": {"table": {"family": family, "name": name}}})
    return cmds + nft_replay(want or [])


def ipt_table(table: str, want: dict[str, Any], live: dict[str, Any]) -> str:
    """An iptables-restore --noflush fragment turning the touched chains of `table` back.

    Every jump to a touched chain is deleted, each chain the snapshot has is declared (which
    creates or flushes it) and refilled, the jumps are inserted again at their old positions,
    and chains the snapshot lacks are removed. Other programs' rules are never named.
    """
    ours = set(want["chains"])
    live_jumps = {b: [ln for ln in lines if jump_target(ln) in ours] for b, lines in live["builtins"].items()}
    want_jumps = {b: [ln for ln in lines if jump_target(ln) in ours] for b, lines in want["builtins"].items()}
    if want["chains"] == live["chains"] and {b: j for b, j in live_jumps.items() if j} == \
            {b: j for b, j in want_jumps.items() if j}:
        return ""
    lines = [f"*{table}"]
    for builtin, jumps in live_jumps.items():
        lines += ["-D" + ln[2:] for ln in jumps]
    for chain, rules in want["chains"].items():
        if rules is not None:
            lines.append(f":{chain} - [0:0]")
            lines += rules
    for builtin, all_lines in want["builtins"].items():
        remaining = len(live["builtins"].get(builtin, [])) - len(live_jumps.get(builtin, []))
        for pos, ln in enumerate(all_lines, 1):
            if jump_target(ln) in ours:
                at = min(pos, remaining + 1)
                lines.append(f"-I {builtin} {at}{ln[2 + len(builtin) + 1:]}")
                remaining += 1
    for chain, rules in want["chains"].items():
        if rules is None and live["chains"].get(chain) is not None:
            lines += [f":{chain} - [0:0]", f"-X {chain}"]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
