"""The elements of anonymous nftables sets that chains read over netlink name instead of
listing ("@__set12", vnetmigrate/collect/nfnl_chain.py): from the evidence (`nft.set.N`), or,
in a live scan, read the first time a packet check reaches a lookup in one and recorded then,
so saved evidence and bundles hold every set the analysis read."""

from __future__ import annotations

import json
from typing import Any

from vnetmigrate.evidence import CommandRecord, Evidence
from vnetmigrate.specs import NFT_SET_T, prefix


class AnonymousSets:
    """`(family, table, name, left) -> {"set": [...]}`, or None when it cannot be told."""

    def __init__(self, ev: Evidence):
        self.ev = ev
        self.known: dict[tuple[str, str, str], Any] = {}
        for key, rec in ev.commands.items():
            if key.startswith(prefix(NFT_SET_T)):
                self._add(rec)

    def _add(self, rec: CommandRecord) -> None:
        family, table, name = rec.argv[-3:]
        value = None
        if rec.ok:  # no "elem": a named set whose name looks anonymous, unknown as named sets are
            try:
                body = json.loads(rec.stdout)["set"]
                value = {"set": body["elem"]} if "elem" in body else None
            except (ValueError, KeyError, TypeError):
                value = None
        self.known[(family, table, name)] = value

    def __call__(self, family: str, table: str, name: str, left: Any) -> Any:
        key = (family, table, name)
        if key not in self.known and self.ev.live_sets is not None:
            self._add(self.ev.live_sets(self.ev, family, table, name, left))
        return self.known.get(key)
