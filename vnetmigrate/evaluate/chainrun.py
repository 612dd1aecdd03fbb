"""Run one base chain on one packet state, the way nf_tables does: rules in order, jumps and
gotos on a stack (16 deep, as the kernel allows), `return` and a chain's end back to the
caller, the base chain's policy at the end; accept, drop and reject end the base chain.

Where a match cannot be decided both answers are followed; each way ends in a `Leaf`.
"""

from __future__ import annotations

from bisect import bisect_left

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evaluate import index
from vnetmigrate.evaluate.core import Effect, Hit, Match, Opaque, Rule, State, Verdict, VMap, quoted
from vnetmigrate.evaluate.reads import IfaceReads, PacketReads
from vnetmigrate.evaluate.ruleset import Chain, Ruleset

MAX_DEPTH = 16  # NFT_JUMP_STACK_SIZE
MAX_LEAVES = 4096
SHORT = 12  # rules
LOOSE_RUNS = 16  # runs of a chain kept for any devices that answer alike (more: for the same devices only)
SHARED_PER_KEY = 32  # runs (or results) kept per key: a later one is compared with each


class TooComplex(Exception):
    pass


@dataclass(frozen=True)
class Leaf:
    """One way through the chains: its verdict, the packet's state and the rule that decided."""
    verdict: str  # accept, drop, reject, unknown
    state: State
    step: Hit | None  # the rule or policy that gave the verdict
    reason: str | None = None  # why unknown

    @property
    def blocks(self) -> bool:
        return self.verdict in ("drop", "reject")


class ChainRunner:
    """Runs base chains for one packet. Runs are shared with the ruleset's other packets
    (rs.memo): a run depends on the packet state's own fields (the key) and on what its rules
    read of the packet and its devices, which the first run records (evaluate/reads.py); a
    later packet state with the same key and the same answers gets the same ways through the
    chain (the probes of one network differ in protocol and ports, those of two networks in
    bridges and addresses, which most chains never read)."""

    def __init__(self, rs: Ruleset, share: bool = True):
        self.rs = rs
        self.share = share
        self.leaves = 0
        self._runs: dict[tuple, list[Leaf]] = {}

    def run(self, base: Chain, st: State) -> list[Leaf]:
        """Every way through `base`; the same chain on the same packet state is run once (an
        undecided earlier chain makes several ways arrive at the next one alike)."""
        key = (base.scope, base.chain, st.hook, st.prio, st.iif, st.oif, st.ct_state, st.mark, st.ct_mark)
        leaves = self._runs.get(key)
        if leaves is None and not self.share:
            leaves = self._runs[key] = self._run(base, base, 0, st.with_(assumed=(), path=()), ())
        elif leaves is None:
            leaves = self._runs[key] = self._shared_run(base, st, (base.scope, base.chain, st.hook, st.prio, st.ct_state,
                                                                   st.mark, st.ct_mark, base.unmodelled))
        if not st.assumed and not st.path:
            return leaves
        return [Leaf(leaf.verdict, leaf.state.with_(assumed=st.assumed + leaf.state.assumed,
                                                    path=st.path + leaf.state.path), leaf.step, leaf.reason)
                for leaf in leaves]

    def _shared_run(self, base: Chain, st: State, key: tuple) -> list[Leaf]:
        """The run of `base` on `st` made for an earlier packet state that read the same, else a
        new one; its leaves count towards MAX_LEAVES as if run again, so the limit is the same.

        A run that read only some answers of the interfaces (IfaceReads: whether the device is
        docker0) serves any devices with those answers, another network's bridge included; one
        that depends on the whole device (a chain index keyed by it, an assumed name) serves
        only the same devices."""
        pkt, iif, oif = st.pkt, st.iif, st.oif
        memo = self.rs.memo
        exact = memo.setdefault(("run",) + key + (iif, oif), [])
        loose = memo.setdefault(("run",) + key + (iif is None, oif is None), [])
        for reads, piif, poif, count, shared in exact + loose:
            if all(getattr(pkt, name) == value for name, value in reads) and \
                    (piif is None or piif.same_answers(iif)) and (poif is None or poif.same_answers(oif)):
                self.leaves += count
                if self.leaves > MAX_LEAVES:
                    raise TooComplex(f"more than {MAX_LEAVES} ways through the ruleset")
                return _bind(shared, pkt, piif, iif, poif, oif)
        log = PacketReads(pkt)
        piif = IfaceReads(iif) if iif is not None else None
        poif = IfaceReads(oif) if oif is not None else None
        before = self.leaves
        shared = self._run(base, base, 0, st.with_(pkt=log, iif=piif, oif=poif, assumed=(), path=()), ())
        entry = (tuple(log.reads.items()), piif, poif, self.leaves - before, shared)
        if (piif is not None and piif.whole) or (poif is not None and poif.whole) or len(loose) >= LOOSE_RUNS:
            if len(exact) < SHARED_PER_KEY:
                exact.append(entry)
        else:
            loose.append(entry)
        return _bind(shared, pkt, piif, iif, poif, oif)

    def _leaf(self, *args, **kw) -> list[Leaf]:
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            raise TooComplex(f"more than {MAX_LEAVES} ways through the ruleset")
        return [Leaf(*args, **kw)]

    def _run(self, base: Chain, chain: Chain, i: int, st: State, stack: tuple) -> list[Leaf]:
        if chain.rules is None or chain.unmodelled:
            return self._unread(base, chain, st, stack)
        rules = chain.rules
        # short chains: trying each rule costs less than looking the candidates up
        candidates = range(len(rules)) if len(rules) <= SHORT else index.candidates(self.rs, chain, st)
        pos = bisect_left(candidates, i)
        while pos < len(candidates):
            i = candidates[pos]
            rule = rules[i]
            pos += 1
            if not _may_match(rule, st):
                continue
            outs = run_rule(rule, st)
            if len(outs) == 1 and outs[0][1] is None:
                st = outs[0][0]  # same interfaces: the candidates still hold
                continue
            leaves: list[Leaf] = []
            for s, flow in outs:
                leaves += self._flow(base, chain, i, s, flow, stack)
            return leaves
        return self._return(base, st, stack)

    def _flow(self, base: Chain, chain: Chain, i: int, s: State, flow, stack: tuple) -> list[Leaf]:
        if flow is None or (isinstance(flow, Verdict) and flow.kind == "continue"):
            return self._run(base, chain, i + 1, s, stack)
        if isinstance(flow, Opaque):
            return self._leaf("unknown", s, s.path[-1] if s.path else None, flow.reason)
        kind = flow.kind
        if kind in ("accept", "drop", "reject"):
            return self._leaf(kind, s, s.path[-1])
        if kind == "nat":
            if base.type == "nat":
                return self._leaf("accept", s, s.path[-1])
            return self._leaf("unknown", s, s.path[-1], f"a NAT statement in {base.name}, not a nat chain")
        if kind == "return":
            return self._return(base, s, stack)
        target = self.rs.lookup(chain.scope, flow.target or "")
        if target is None:
            return self._leaf("unknown", s, s.path[-1], f"{chain.name} jumps to {flow.target}, which is not listed")
        if len(stack) >= MAX_DEPTH:
            return self._leaf("unknown", s, s.path[-1], "jumps nested deeper than the kernel allows")
        return self._run(base, target, 0, s, stack + ((chain, i),) if kind == "jump" else stack)

    def _return(self, base: Chain, st: State, stack: tuple) -> list[Leaf]:
        if stack:
            caller, i = stack[-1]
            return self._run(base, caller, i + 1, st, stack[:-1])
        policy = base.policy or "accept"
        step = Hit(base.name, "policy", f"policy {policy}", policy)
        return self._leaf(policy, st.step(step), step)

    def _unread(self, base: Chain, chain: Chain, st: State, stack: tuple) -> list[Leaf]:
        """A chain whose rules were not read: it may return, accept, drop or reject — except
        that iptables refuses DROP in its nat table and the kernel REJECT outside filter."""
        why = chain.unmodelled or f"the rules of {chain.name} were not read"
        out = self._return(base, st.assume(f"{why}: assumed it returns"), stack)
        for verdict in unread_verdicts(chain):
            s = st.assume(f"{why}: assumed it ends in {verdict}")
            step = Hit(chain.name, "(rules not read)", "", verdict)
            out += self._leaf(verdict, s.step(step), step, why)
        return out


def _bind(leaves: list[Leaf], pkt, piif, iif, poif, oif) -> list[Leaf]:
    """A shared run's leaves for this packet and these devices (where a leaf's state still has
    the recording devices: not a device assumed from them)."""
    out = []
    for leaf in leaves:
        s = leaf.state
        changes = {"pkt": pkt}
        if piif is not None and s.iif is piif:
            changes["iif"] = iif
        if poif is not None and s.oif is poif:
            changes["oif"] = oif
        out.append(Leaf(leaf.verdict, s.with_(**changes), leaf.step, leaf.reason))
    return out


def unread_verdicts(chain: Chain) -> list[str]:
    """The verdicts a chain whose rules were not read may end in (besides returning)."""
    if chain.kind != "nft" and not chain.unmodelled:
        return ["accept"] + (["drop"] if chain.table != "nat" else []) + (["reject"] if chain.table == "filter" else [])
    return ["accept", "drop", "reject"]


def _may_match(rule: Rule, st: State) -> bool:
    for which, name in rule.iface_gate:
        dev = st.iif if which == "iif" else st.oif
        if dev is None or dev.decide(name) is False:
            return False
    for family, which, addrs in rule.addr_gate:
        if st.pkt.family != family or addrs.contains(st.pkt.saddr if which == "saddr" else st.pkt.daddr) is False:
            return False
    return True


def run_rule(rule: Rule, st: State) -> list[tuple[State, object]]:
    """(state, flow) for every way through the rule; flow None: the rule did not decide."""
    out: list[tuple[State, object]] = []
    live = [st]
    for op in rule.ops:
        if isinstance(op, Match):
            nxt = []
            for s in live:
                for ok, s2 in op.test(s):
                    if ok:
                        nxt.append(s2)
                    else:
                        out.append((s2, None))
            live = nxt
            if not live:
                return out
        elif isinstance(op, Effect):
            live = [op.apply(s) for s in live]
        elif isinstance(op, Verdict):
            text, verdict = quoted(rule.text), str(op)
            return out + [(s.step(Hit(rule.chain, rule.where, text, verdict)), op) for s in live]
        elif isinstance(op, VMap):
            for s in live:
                out += _vmap(rule, op, s)
            return out
        elif isinstance(op, Opaque):
            return out + [(s.step(Hit(rule.chain, rule.where, quoted(rule.text), None)), op) for s in live]
    return out + [(s, None) for s in live]


def _vmap(rule: Rule, vmap: VMap, st: State) -> list[tuple[State, object]]:
    out: list[tuple[State, object]] = []
    live = [st]
    for element, verdict in vmap.entries:
        nxt = []
        for s in live:
            for ok, s2 in vmap.test(s, element):
                if ok:
                    out.append((s2.step(Hit(rule.chain, rule.where, quoted(rule.text), str(verdict))), verdict))
                else:
                    nxt.append(s2)
        live = nxt
    return out + [(s, None) for s in live]
