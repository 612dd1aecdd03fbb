"""Which live rules a removal recipe refers to.

- nftables actions name a rule by family, table, chain and handle: it is present if the live
  listing (``nft -j -a list ...``, handles included) has that rule. Handles are never reused
  within a table's lifetime, so a present handle is the rule libvirt added; if the table was
  flushed and recreated (nftables.service reload) the handles point at nothing or, rarely,
  at a different rule: ``describe`` shows what was found.
- iptables actions are ``--delete`` commands: like iptables itself, they refer to the first
  rule of the chain with the same specification (compared by `vnetmigrate.rules.iptables.canonical`).
- tc actions delete the DHCP checksum filter of a bridge; they are reported as "unchecked"
  unless the caller passes what ``tc filter show dev BR`` printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.firewall import Family
from vnetmigrate.libvirt.fwremoval import RemovalAction, RemovalRecipe
from vnetmigrate.rules.iptables import IptRule, canonical
from vnetmigrate.rules.iptables_save import parse_save

PRESENT, MISSING, UNCHECKED = "present", "missing", "unchecked"


@dataclass(frozen=True)
class RecipeMatch:
    """A removal command and whether what it removes is live."""
    action: RemovalAction
    status: str                          # present / missing / unchecked
    live: IptRule | dict[str, Any] | str | None = None

    @property
    def describe(self) -> str:
        if isinstance(self.live, IptRule):
            return f"{Family(self.live.family).iptables} -t {self.live.table} {self.live.text}"
        if isinstance(self.live, dict):
            return f"nft rule {self.live.get('family')} {self.live.get('table')} {self.live.get('chain')} handle {self.live.get('handle')}"
        return self.live or ""


def _nft_rules(doc: Mapping[str, Any] | None) -> dict[tuple, dict[str, Any]]:
    rules = {}
    for item in (doc or {}).get("nftables", []):
        rule = item.get("rule") if isinstance(item, dict) else None
        if isinstance(rule, dict) and "handle" in rule:
            rules[(rule.get("family"), rule.get("table"), rule.get("chain"), rule["handle"])] = rule
    return rules


def match_removal(recipe: RemovalRecipe, *, iptables_save: Mapping[int, str] | None = None,
                  nft_json: Mapping[str, Any] | None = None,
                  tc_filters: Mapping[str, str] | None = None) -> list[RecipeMatch]:
    """One RecipeMatch per action, in recipe order.

    `iptables_save` maps 4/6 to iptables-save / ip6tables-save output; `nft_json` is a
    libnftables JSON listing with handles; `tc_filters` maps a bridge to the output of
    ``tc filter show dev BRIDGE``. Facts not given make the matching actions "unchecked".
    """
    saved = {fam: [(r, r.canon()) for r in parse_save(text, f"ipv{fam}", "nft").rules()]
             for fam, text in (iptables_save or {}).items()}
    nft = _nft_rules(nft_json) if nft_json is not None else None
    out = []
    for action in recipe.actions:
        if action.layer == "tc":
            out.append(_match_tc(action, tc_filters))
        elif action.nft_rule_ref is not None:
            if nft is None:
                out.append(RecipeMatch(action, UNCHECKED))
            else:
                live = nft.get(action.nft_rule_ref)
                out.append(RecipeMatch(action, PRESENT if live else MISSING, live))
        elif action.layer in ("ipv4", "ipv6"):
            fam = Family(action.layer).version
            if fam not in saved:
                out.append(RecipeMatch(action, UNCHECKED))
                continue
            key = canonical(action.iptables_spec, fam)
            live = next((r for r, rkey in saved[fam] if r.table == action.iptables_table
                         and r.chain == action.iptables_chain and rkey == key), None)
            out.append(RecipeMatch(action, PRESENT if live else MISSING, live))
        else:
            out.append(RecipeMatch(action, UNCHECKED))
    return out


def _match_tc(action: RemovalAction, tc_filters: Mapping[str, str] | None) -> RecipeMatch:
    dev = action.tc_device
    if tc_filters is None or dev not in tc_filters:
        return RecipeMatch(action, UNCHECKED, f"tc u32 filter prio 2 on {dev}")
    text = tc_filters[dev]
    # `tc filter show` prints the u32 key for "ip dport 68 ffff" as 00000044/0000ffff at 20.
    found = "pref 2 u32" in text and "00000044/0000ffff at 20" in text
    return RecipeMatch(action, PRESENT if found else MISSING, f"tc u32 filter prio 2 on {dev}")
