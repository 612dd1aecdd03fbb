"""A packet through every hook it crosses: each table's base chains in priority order.

`accept` ends only the base chain that gave it; drop and reject are final; every base chain
on the hook sees an accepted packet (docs/kernel-and-tools.md §1). Equal priorities: the kernel runs
the most recently registered hook first, which no listing shows; the verdict does not depend
on it unless one of those chains changes marks or conntrack state (then the result is unknown
and says why; a chain whose rules were not read is already unknown when reached). nat chains
see only a connection's first packet.
"""

from __future__ import annotations

from dataclasses import replace

from vnetmigrate.evaluate.chainrun import SHARED_PER_KEY, ChainRunner, Leaf, TooComplex, unread_verdicts
from vnetmigrate.evaluate.core import Effect, Hit, Match, State, Verdict, VMap
from vnetmigrate.evaluate.lazyrules import LazyRules
from vnetmigrate.evaluate.packet import Packet
from vnetmigrate.evaluate.reads import PacketReads
from vnetmigrate.evaluate.result import Pass, Result, Walk, reduce
from vnetmigrate.evaluate.ruleset import Chain, Ruleset

# Devices each hook knows for a packet from a guest or the outside (ip_output passes the input
# device to postrouting: `iif` matches there for forwarded packets, seen here).
HAS_IIF = {"prerouting", "input", "forward", "postrouting"}
HAS_OIF = {"forward", "output", "postrouting"}
L2_FAMILIES = ("bridge", "netdev")


# Work shared between packets (evaluate, ChainRunner) and base chains skipped when naming the
# blockers (can_block); False: every packet evaluated from scratch, every base chain run again
# for its blockers (tests/lab/test_evaluator_sharing.py compares the two on kernel state).
SHARE = True


def applies(chain: Chain, pkt: Packet) -> bool:
    return chain.family in (pkt.family, "inet") and chain.hook != "ingress"


def order(chains: list[Chain]) -> list[Chain]:
    # Same table: the later chain (higher handle) was registered later and runs first.
    return sorted(chains, key=lambda c: (c.prio if c.prio is not None else 0, c.kind == "iptables-legacy",
                                         c.family, c.table, -(c.handle or 0), c.chain))


def plan(rs: Ruleset, pkt: Packet) -> list[Chain]:
    """The base chains the packet meets, in order (L2 ones first: the bridge sees the frame)."""
    key = ("plan", pkt.family, pkt.hooks, pkt.ct_state == "new")
    if key not in rs.memo:
        rs.memo[key] = _plan(rs, pkt)
    return rs.memo[key]


def _plan(rs: Ruleset, pkt: Packet) -> list[Chain]:
    base = rs.base_chains()
    l2 = [c for c in base if c.family in L2_FAMILIES or c.hook == "ingress"]
    chains = [replace(c, unmodelled=f"{c.name} sees the frame at layer 2 ({c.hook} hook), which is not modelled")
              for c in l2 if not _harmless(c)]
    for hook in pkt.hooks:
        on_hook = [c for c in base if c.hook == hook and applies(c, pkt)
                   and not (c.type == "nat" and pkt.ct_state != "new")]
        chains += order(on_hook)
    return chains


def _harmless(chain: Chain) -> bool:
    """A bridge/netdev chain that can only accept (the packet model has no L2 fields)."""
    if chain.rules is None or (chain.policy or "accept") != "accept":
        return False
    return all(isinstance(op, (Match, Effect)) or (isinstance(op, Verdict) and op.kind in ("accept", "continue"))
               for r in chain.rules for op in r.ops)


def start_state(pkt: Packet) -> State:
    return State(pkt, pkt.hooks[0], 0, pkt.iif, pkt.oif, pkt.ct_state)


def at(st: State, chain: Chain, mem: dict) -> State:
    hook = chain.hook if chain.family not in L2_FAMILIES else "l2"
    return st.with_(hook=hook, prio=chain.prio or 0, iif=mem["iif"] if hook in HAS_IIF else None,
                    oif=mem["oif"] if hook in HAS_OIF and mem["oif"] is not None else None)


def evaluate(rs: Ruleset, pkt: Packet) -> Result:
    if rs.problems:
        return Result(pkt, "unknown", None, (), rs.problems)
    if not SHARE:
        return _evaluate(rs, pkt)
    # The result depends on the packet only through the fields the evaluation reads: a packet
    # with the same values of those (the probes of one network differ in protocol and ports,
    # which the chains on their way seldom read) has the same result. Keyed by what every
    # evaluation reads, so only a few earlier results are compared.
    earlier = rs.memo.setdefault(("evaluate", pkt.family, pkt.hooks, pkt.ct_state, pkt.iif, pkt.oif), [])
    for reads, result in earlier:
        if all(getattr(pkt, name) == value for name, value in reads):
            return _for_packet(result, pkt)
    log = PacketReads(pkt)
    result = _evaluate(rs, log)  # type: ignore[arg-type]
    if len(earlier) < SHARED_PER_KEY:  # (many packets alike but for what they read: not compared with each)
        earlier.append((tuple((k, v) for k, v in log.reads.items() if k not in _KEYED), result))
    return _for_packet(result, pkt)


_KEYED = frozenset({"family", "hooks", "ct_state", "iif", "oif"})  # equal wherever the key is


def _for_packet(result: Result, pkt: Packet) -> Result:
    """`result` naming `pkt` (dataclasses.replace without __init__, as State.with_)."""
    new = object.__new__(Result)
    new.__dict__.update(result.__dict__)
    new.__dict__["packet"] = pkt
    return new


def _evaluate(rs: Ruleset, pkt: Packet) -> Result:
    chains = plan(rs, pkt)
    runner = ChainRunner(rs, share=SHARE)
    try:
        outcomes = _walk(runner, chains, pkt)
        # Which chains block on their own matters only for a packet that is blocked every way
        # (to name every chain a fix must open); it costs a second run over the path.
        blocked = all(o.verdict in ("drop", "reject") for o in outcomes)
        blockers = tuple(_blockers(runner, chains, pkt)) if blocked else ()
    except TooComplex as exc:
        return Result(pkt, "unknown", None, (), (str(exc),))
    key = ("order", pkt.family, pkt.hooks, pkt.ct_state == "new")
    if key not in rs.memo:
        rs.memo[key] = _order_sensitive(rs, chains)
    sensitive = rs.memo[key]
    if sensitive:
        return Result(pkt, "unknown", None, outcomes[0].passes if outcomes else (), (sensitive,), None, blockers)
    result = reduce(pkt, outcomes, blockers, _order_notes(blockers, chains))
    return _drop_or_reject(result)


def _drop_or_reject(r: Result) -> Result:
    """Two tables block at the same hook and priority, one dropping and one rejecting: which
    the packet meets first (and so whether the sender hears a reject) is not known."""
    d = r.decided_by
    if r.verdict not in ("drop", "reject") or d is None:
        return r
    rivals = [b for b in r.blockers if (b.hook, b.prio) == (d.hook, d.prio) and b.base != d.base
              and b.verdict != d.verdict]
    if not rivals:
        return r
    why = (f"{d.base} ({d.verdict}) and {', '.join(f'{b.base} ({b.verdict})' for b in rivals)} share {d.hook} "
           f"priority {d.prio}; the kernel runs the most recently registered first, which is not listed anywhere")
    return replace(r, verdict="unknown", decided_by=None, reasons=(why,), blocked=True)


def _walk(runner: ChainRunner, chains: list[Chain], pkt: Packet) -> list[Walk]:
    first = start_state(pkt)
    pending = [(first, (), {"iif": pkt.iif, "oif": pkt.oif})]
    final: list[Walk] = []
    for chain in chains:
        nxt = []
        for st, passes, mem in pending:
            for leaf in runner.run(chain, at(st, chain, mem)):
                p = passes + (_pass(chain, leaf),)
                mem2 = {k: getattr(leaf.state, k) or mem[k] for k in ("iif", "oif")}
                if leaf.verdict == "accept":
                    nxt.append((leaf.state.with_(path=()), p, mem2))
                else:
                    final.append(Walk(leaf.verdict, p, leaf.state.assumed, leaf.reason))
        pending = nxt
    for st, passes, _mem in pending:
        final.append(Walk("accept", passes, st.assumed))
    return final


def _pass(chain: Chain, leaf: Leaf) -> Pass:
    end = leaf.step or Hit(chain.name, "?", "", leaf.verdict)
    return Pass(chain.name, chain.hook or "l2", chain.prio or 0, end, leaf.verdict, leaf.state.path, chain.kind)


def _blockers(runner: ChainRunner, chains: list[Chain], pkt: Packet):
    """Every base chain that drops or rejects the packet on its own, whatever else it meets."""
    mem = {"iif": pkt.iif, "oif": pkt.oif}
    first = start_state(pkt)
    for chain in chains:
        # most base chains on a path cannot block any packet (nat chains, libvirt's postrouting):
        # running them again, past the chain that dropped, would only compile and index their rules
        if SHARE and not can_block(runner.rs, chain):
            continue
        leaves = runner.run(chain, at(first, chain, mem))
        if leaves and all(leaf.blocks for leaf in leaves):
            yield _pass(chain, leaves[0])


def can_block(rs: Ruleset, chain: Chain) -> bool:
    """Whether some packet could end in drop or reject in base chain `chain`: its policy, or a
    drop or reject verdict reachable through its rules, jumps and gotos, or a chain on the way
    whose rules were not read and that may end in one (ChainRunner._unread). Only verdicts
    decide, so this is the same for every packet (memoized per ruleset)."""
    if chain.unmodelled:  # an L2 chain (_plan) or one the model cannot run: may end in anything
        return True
    key = ("can block", chain.scope, chain.chain)
    if key not in rs.memo:
        rs.memo[key] = _can_block(rs, chain)
    return rs.memo[key]


def _can_block(rs: Ruleset, base: Chain) -> bool:
    if (base.policy or "accept") != "accept":
        return True
    seen, todo = set(), [base]
    while todo:
        c = todo.pop()
        if c.chain in seen:
            continue
        seen.add(c.chain)
        if c.rules is None or c.unmodelled:
            if {"drop", "reject"} & set(unread_verdicts(c)):
                return True
            continue
        for op in _target_ops(c):
            verdicts = [v for _element, v in op.entries] if isinstance(op, VMap) else \
                [op] if isinstance(op, Verdict) else []
            for v in verdicts:
                if v.kind in ("drop", "reject"):
                    return True
                if v.kind in ("jump", "goto"):
                    target = rs.lookup(c.scope, v.target or "")
                    if target is not None:
                        todo.append(target)
    return False


def _order_notes(blockers: tuple[Pass, ...], chains: list[Chain]) -> tuple[str, ...]:
    notes = []
    for i, a in enumerate(blockers):
        for b in blockers[i + 1:]:
            if (a.hook, a.prio) == (b.hook, b.prio) and a.base.rsplit(" ", 1)[0] != b.base.rsplit(" ", 1)[0]:
                notes.append(f"{a.base} and {b.base} both block at {a.hook} priority {a.prio}: which one the "
                             "kernel runs first (the most recently registered) is not listed anywhere")
    return tuple(notes)


def _order_sensitive(rs: Ruleset, chains: list[Chain]) -> str | None:
    """Why the order of equal-priority chains could change the verdict, if it could."""
    groups: dict[tuple, list[Chain]] = {}
    for c in chains:
        groups.setdefault((c.hook, c.prio), []).append(c)
    for (hook, prio), group in groups.items():
        if len({c.scope for c in group}) < 2:
            continue
        writers = [c.name for c in group if _changes_state(rs, c)]
        if writers:
            return (f"{', '.join(writers)} change marks or conntrack state at {hook} priority {prio}, shared with "
                    f"{', '.join(c.name for c in group if c.name not in writers)}: the kernel's order between "
                    "them (most recently registered first) is not listed anywhere")
    return None


def _changes_state(rs: Ruleset, chain: Chain) -> bool:
    seen, todo = set(), [chain]
    while todo:
        c = todo.pop()
        if c.chain in seen or c.rules is None:
            continue
        seen.add(c.chain)
        for op in _target_ops(c):
            if isinstance(op, Effect) and op.changes:
                return True
            if isinstance(op, Verdict) and op.kind in ("jump", "goto"):
                target = rs.lookup(c.scope, op.target or "")
                if target is not None:
                    todo.append(target)
    return False


def _target_ops(chain: Chain):
    """The chain's ops that can be effects or verdicts: every op of compiled rules; a lazily
    compiled chain (evaluate/lazyrules.py) gives only those, without compiling its matches."""
    rules = chain.rules
    return rules.target_ops() if isinstance(rules, LazyRules) else (op for r in rules for op in r.ops)
