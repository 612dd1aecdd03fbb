"""Remove iptables-nft rules and chains by nftables handle, in one kernel transaction.

An iptables-restore fragment of `-D` lines deletes each rule by its specification: iptables-nft
compares the specification with every rule of the chain, so removing libvirt's rules of 500
networks that way took 0.7 s (the cost grows with the square of a chain's length). iptables-nft
chains are nftables chains, and their rules have handles: the same removal as one nfnetlink
batch (txn/nfdelete.py: rules by handle, chains with NLM_F_NONREC) took 0.1 s, and is one
kernel transaction for every table of both families.

Which handle a `-D` line means is known by position: `iptables-nft -S CHAIN` and `nft -a list
chain` list a chain's rules in the kernel's order. That holds only when both listings saw the
same ruleset, so `exact_removal` is given the nftables generation the plan's `-S` listings were
made at and takes listings of that generation only (txn/nftgen.py); otherwise the caller keeps
the `-D` fragment.

The step stays exact when it runs: it checks each chain it names against what the plan saw
(`expected`: every rule, by handle and text, of a chain it deletes; the rules it deletes of a
chain it keeps), and sends the batch with the generation of that check, so the kernel refuses
it whole if anything was committed since (a rule replaced in place keeps its handle).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from vnetmigrate.firewall import Family
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.sha256 import sha256
from vnetmigrate.txn import kernel
from vnetmigrate.txn.kernel import NothingChanged
from vnetmigrate.txn.snapshot import jump_target

_RULE = re.compile(r"^(.*) # handle (\d+)$")
# Lines of a chain's body that are not rules (nft 1.0.6): a base chain's hook, a chain comment.
_NOT_RULES = ("type ", "policy ", "comment ")

Listing = Callable[[str], "tuple[tuple[int, int] | None, str | None]"]


def listed_rules(text: str) -> list[tuple[int, str]] | None:
    """The rules of the one chain in `nft -a list chain` text, in order, as (handle, text
    without packet counters); None when a line of its body is neither a rule nor known.

    The plan reads each chain's listing to find its handles and the step reads the same
    listing again before it acts (kernel.nft_list_handles keeps it while the generation
    holds): the answer is kept for the text it was read from (_LISTED)."""
    hit = _LISTED.get(text, _MISSING)
    if hit is _MISSING:
        hit = _read_rules(text)
        if len(_LISTED) >= 64:
            _LISTED.clear()
        _LISTED[text] = hit
    return None if hit is None else list(hit)  # type: ignore[arg-type]


_MISSING = object()
_LISTED: dict[str, tuple[tuple[int, str], ...] | None] = {}


def _read_rules(text: str) -> tuple[tuple[int, str], ...] | None:
    """listed_rules, read once. Counters are cut from the whole text at once: the pattern
    matches only within a line, and a line's `# handle N` tail holds none."""
    out: list[tuple[int, str]] = []
    inside = False
    match = _RULE.match
    for raw in kernel.without_counters(text).splitlines():
        line = raw.strip()
        if line.startswith("chain ") and line.split(" # handle ")[0].endswith("{"):
            inside = True
            continue
        if not inside or not line or line.startswith(_NOT_RULES):
            continue
        if line == "}":
            inside = False
            continue
        m = match(line)
        if m is None:
            return None
        out.append((int(m.group(2)), m.group(1)))
    return tuple(out)


def digest(rules: Iterable[tuple[int, str]]) -> str:
    """A chain's rules, handles and texts, in order, as one short value for the journal."""
    h = sha256()
    for handle, text in rules:
        h.update(f"{handle} {text}\n".encode())
    return h.hexdigest()[:32]


def exact_removal(fragment: str, family: str, save: IptablesSave, generation: tuple[int, int],
                  listing: Listing = kernel.nft_list_handles) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The nfnetlink deletions doing what the removal `fragment` (only `-D` and `-X` lines)
    does to `save` (the `-S` listings it was made from, at `generation`), and what the step
    checks before it acts (`expected`); None when that cannot be proven: another kind of line,
    a chain not listed whole, a listing of another generation or of another length.

    A chain the fragment deletes (`-X`) loses every rule, as its `-D` lines say: each handle
    of its listing. Of any other chain, each `-D` line is the rule at its position in the
    chain's `-S` listing (the n-th of identical lines, the n-th such rule)."""
    fam = Family(family).nft
    specs: dict[tuple[str, str], list[str]] = {}
    deleted: list[tuple[str, str]] = []
    table = None
    for line in fragment.splitlines():
        words = line.split()
        if not words or words == ["COMMIT"]:
            continue
        if len(words) == 1 and words[0].startswith("*"):
            table = words[0][1:]
        elif table is not None and words[0] == "-D" and len(words) > 2:
            specs.setdefault((table, words[1]), []).append("-A" + line[2:])
        elif table is not None and words[0] == "-X" and len(words) == 2:
            deleted.append((table, words[1]))
            specs.setdefault((table, words[1]), [])
        else:
            return None
    rules_del: list[dict[str, Any]] = []
    expected: dict[str, Any] = {}
    for (tbl, name), wanted in specs.items():
        chain = save.chain(tbl, name)
        gen, text = listing(f"chain {fam} {tbl} {name}")
        got = listed_rules(text) if gen == generation and text is not None else None
        if chain is None or not chain.listed or got is None or len(got) != len(chain.rules):
            return None
        key = f"{fam} {tbl} {name}"
        if (tbl, name) in deleted:
            if len(wanted) != len(got):
                return None
            chosen = got
            expected[key] = {"digest": digest(got)}  # every rule of it: nothing else may be in it
        else:
            where: dict[str, list[int]] = {}
            for i, rule in enumerate(chain.rules):
                where.setdefault(rule.text, []).append(i)
            seen: dict[str, int] = {}
            chosen = []
            for spec in wanted:
                nth = seen.get(spec, 0)
                at = where.get(spec, [])
                if nth >= len(at):
                    return None
                seen[spec] = nth + 1
                handle, rule_text = got[at[nth]]
                target = jump_target(spec)
                if target is not None and target.startswith("LIBVIRT_") and f"jump {target}" not in rule_text \
                        and f"goto {target}" not in rule_text:
                    return None  # a jump whose nft text names another chain: not the same listing
                chosen.append((handle, rule_text))
            # another program's rules may come and go: only ours must be as they were
            expected[key] = {"rules": [list(r) for r in chosen]}
        rules_del += [{"delete": {"rule": {"family": fam, "table": tbl, "chain": name, "handle": h}}}
                      for h, _t in chosen]
    chains_del = [{"delete": {"chain": {"family": fam, "table": tbl, "name": name}}} for tbl, name in deleted]
    return rules_del + chains_del, expected


def check(expected: dict[str, Any], listing: Listing = kernel.nft_list_handles) -> int:
    """The generation at which every chain in `expected` is as the plan saw it; NothingChanged
    (nothing was done) when one is not, or when the listings are of different generations."""
    gens = set()
    for key, want in expected.items():
        gen, text = listing(f"chain {key}")
        got = listed_rules(text) if text is not None else None
        if gen is None or got is None:
            raise NothingChanged(f"chain {key} could not be listed as the plan saw it; nothing was changed")
        if "digest" in want and digest(got) != want["digest"]:
            raise NothingChanged(f"chain {key} is not as the plan saw it (a rule added, removed or replaced "
                                 "after the fingerprint check?): refused, nothing was changed")
        have = set(got)
        if any((int(h), t) not in have for h, t in want.get("rules", ())):
            raise NothingChanged(f"a rule of chain {key} this step deletes is not as the plan saw it: refused, "
                                 "nothing was changed")
        gens.add(gen)
    if len(gens) != 1:
        raise NothingChanged("the ruleset changed while the step was checked; nothing was changed")
    return gens.pop()[1]


def exact_plan(plan, saves: Iterable[IptablesSave], generation: tuple[int, int] | None,
               listing: Listing = kernel.nft_list_handles):
    """`plan` (steps.Plan) with its iptables-nft removal steps done by handle, both families'
    in one step, where every one of them can be proven (exact_removal); else `plan` as it is.
    `generation`: the one the `-S` listings in `saves` were made at (None: unknown)."""
    from dataclasses import replace

    from vnetmigrate.txn import steps

    removals = [(i, s) for i, s in enumerate(plan.steps) if isinstance(s, steps.IptStep)
                and not any(ln.startswith(("-A", "-I", ":", "-F", "-N")) for ln in s.fragment.splitlines())]
    if generation is None or not removals or [i for i, _s in removals] != list(
            range(removals[0][0], removals[0][0] + len(removals))):
        return plan
    by_family = {s.family: s for s in saves if s.source == "nft"}
    commands: list[dict[str, Any]] = []
    expected: dict[str, Any] = {}
    touched = steps.Touched()
    for _i, step in removals:
        save = by_family.get(step.family.value)
        made = exact_removal(step.fragment, step.family.value, save, generation, listing) if save else None
        if made is None:
            return plan
        commands += made[0]
        expected.update(made[1])
        touched = touched.union(step.touches)
    rule_dels = [c for c in commands if "rule" in c["delete"]]
    merged = steps.NftStep(title=f"remove libvirt's iptables rules and LIBVIRT_* chains "
                                 f"({', '.join(s.family.value for _i, s in removals)})",
                           commands=rule_dels + [c for c in commands if "rule" not in c["delete"]],
                           exact=True, expected=expected, touches=touched)
    first = removals[0][0]
    dropped = {i for i, _s in removals}
    return replace(plan, steps=tuple(merged if i == first else s for i, s in enumerate(plan.steps)
                                     if i == first or i not in dropped))
