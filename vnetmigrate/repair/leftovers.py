"""What libvirt left behind: LIBVIRT_* chains and their jumps after a switch to nftables
(`libvirt-leftover-chains`), rules and tables no active network needs and second copies of
needed rules (`libvirt-leftover-rules`), and the inactive backend's copy of libvirt's rules
(`libvirt-rules-both-backends`). One builder for the three: they are the same objects seen
three ways, so one set of steps removes them (computed once, from the model's ownership).

Only what the model classifies as libvirt's and left over goes (vnetmigrate.libvirt.ownership):
a chain or table that also holds a rule libvirt does not create is kept, with that rule, and
named in the plan. Second copies of needed rules are removed by the dedupe step, which keeps
the copy libvirt's status file records (its removal recipe names that handle).
"""

from __future__ import annotations

from vnetmigrate.facts.ownership import restart_pending
from vnetmigrate.firewall import Backend
from vnetmigrate.libvirt.ownership import Owner
from vnetmigrate.repair.remedies import NotRepairable, Remedy, RepairContext, remedy
from vnetmigrate.specs import NETWORK_STATUS
from vnetmigrate.txn import build
from vnetmigrate.txn import libvirt_steps as ls
from vnetmigrate.txn import planner, steps
from vnetmigrate.words import plural

IDS = ("libvirt-leftover-chains", "libvirt-leftover-rules", "libvirt-rules-both-backends")
SECOND_COPY = "a second copy of"   # the model's reason for a duplicate (libvirt/ownership_expect.py)


@remedy(*IDS)
def remove_leftovers(facts, finding, ctx: RepairContext) -> Remedy | NotRepairable:
    if restart_pending(facts.libvirt):
        return NotRepairable(finding.id, "libvirt's network daemon has not applied the configured backend yet "
                             "(libvirt-restart-pending): the rules of both backends are in use until it restarts")
    made, done, kept = removal(facts, facts.ownership.ownership)
    if not made:
        return NotRepairable(finding.id, "nothing there is libvirt's and left over: "
                             + ("; ".join(kept) if kept else "the objects it names are in use"))
    # The backend the active networks' rules are in: still complete after the removal. (Not
    # where some are missing already: that is libvirt-rules-missing's, which runs first.)
    own = facts.ownership.ownership
    in_use = {Backend(b) for _n, b in facts.networks.pairs} if facts.networks is not None else set()
    if len(in_use) == 1:
        (backend,) = in_use
        if not any(Backend(m.backend) is backend for m in own.missing):
            made.append(planner.verify_rules(facts, backend, f"every active network still has its {backend} rules"))
    why = ("the model classifies each of them as libvirt's and needed by no active network (or a second copy of "
           "one that is); the libvirt backend in use keeps every rule it needs")
    if kept:
        why += "; kept, not libvirt's or shared with rules that are not: " + "; ".join(kept)
    return Remedy(finding.id, "remove libvirt's leftovers (" + "; ".join(done) + ")", why, tuple(made),
                  covers=tuple(i for i in IDS if i != finding.id))


def removal(facts, own) -> tuple[list[steps.Step], list[str], list[str]]:
    """The steps removing what `own` classifies as libvirt's and left over: (steps, what they
    remove, per backend, and what is kept and why)."""
    leftover = {i.where: i for i in own.items if i.owner is Owner.LEFTOVER}
    copies = {w for w, i in leftover.items() if i.reason.startswith(SECOND_COPY)}
    gone = {w: i for w, i in leftover.items() if w not in copies}
    made: list[steps.Step] = []
    done: list[str] = []
    kept: list[str] = []
    saves = list(facts.iptables.saves) if facts.iptables is not None else []
    for save in saves:
        fragments, chains, counts, shared = _ipt_leftovers(save, gone)
        kept += shared
        if save.source == "legacy" and chains:
            made.append(steps.legacy(f"remove libvirt's leftover chains from the legacy {save.family} tables",
                                     save.family, chains))
        elif save.source == "nft" and fragments:
            made.append(steps.ipt(f"remove libvirt's leftover {save.family} iptables rules and chains", save.family,
                                  fragments, ls.ipt_touched(save.family)))
        else:
            continue
        done.append(f"{save.family}{' legacy' if save.source == 'legacy' else ''}: "
                    f"{plural(counts['rules'], 'rule')}, {plural(counts['chains'], 'chain')}")
    if facts.nft is not None:
        cmds, counts, exact = ls.nft_removal(facts.nft, {w: Owner.LEFTOVER for w in gone})
        if cmds:
            made.append(steps.nft("remove libvirt's leftover nftables rules and tables", cmds, ls.nft_touched(),
                                  exact=exact))
            done.append(f"nftables: {plural(counts['rules'], 'rule')}, {plural(counts['tables'], 'table')}")
    kept += [f"{i.where} ({i.reason})" for i in own.items if i.owner is Owner.UNEXPECTED]
    for backend in _backends_of(copies):
        made.append(steps.dedupe(f"remove the second copies of libvirt's {backend} rules", backend, NETWORK_STATUS,
                                 planner.everything_touched()))
        done.append(f"second copies in {backend}: {sum(1 for w in copies if _backend(w) is backend)}")
    return made, done, kept


def _backend(where: str) -> Backend:
    return Backend.NFTABLES if where.startswith(("ip ", "ip6 ")) else Backend.IPTABLES


def _backends_of(wheres) -> list[Backend]:
    return sorted({_backend(w) for w in wheres})


def _ipt_leftovers(save, gone: dict) -> tuple[str, dict[str, list[str]], dict[str, int], list[str]]:
    """One family's fragment: whole leftover LIBVIRT_* chains (every rule in them left over)
    with the jumps to them, and single leftover rules in chains libvirt still uses. Returns
    (fragment, table -> chains removed whole, counts, chains kept because of other rules)."""
    fragments, whole_by_table, shared = [], {}, []
    counts = {"rules": 0, "chains": 0}
    for table in save.tables:
        whole, lines = {}, []
        for chain in table.chains:
            if (table.name, chain.name) not in ls.IPT_CHAIN_NAMES:
                continue
            cwhere = f"{save.family} {save.source} {table.name} {chain.name}"
            if cwhere in gone:
                if all(r.where() in gone for r in chain.rules):
                    whole[chain.name] = [r.text for r in chain.rules]
                else:
                    shared.append(f"{cwhere} (holds rules that are not libvirt's)")
                continue
            lines += ["-D" + r.text[2:] for r in chain.rules if r.where() in gone]
        if not whole and not lines:
            continue
        if save.source == "legacy" and not whole:
            shared.append(f"{save.family} legacy {table.name}: {plural(len(lines), 'single leftover rule')} (removing "
                          "single rules from legacy tables is not supported)")
            continue
        builtins = {c.name: [r.text for r in c.rules] for c in table.chains if c.builtin}
        text = build.ipt_chain_removal(table.name, whole, builtins) if save.source == "nft" else ""
        if lines and save.source == "nft":
            text = (text[:-len("COMMIT\n")] if text else f"*{table.name}\n") + "\n".join(lines) + "\nCOMMIT\n"
        counts["chains"] += len(whole)
        counts["rules"] += sum(len(r) for r in whole.values()) + len(lines)
        if whole:
            whole_by_table[table.name] = list(whole)
        fragments.append(text)
    return "".join(fragments), whole_by_table, counts, shared


@remedy("libvirt-unexpected-rules")
def unexpected(facts, finding, ctx: RepairContext) -> NotRepairable:
    return NotRepairable(finding.id, "these rules are not libvirt's: repair never touches a rule it does not own; "
                         "move them into a chain or table of your own")
