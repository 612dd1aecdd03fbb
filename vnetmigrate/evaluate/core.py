"""The evaluator's building blocks: the packet's state inside a chain, and compiled rules.

A rule compiles to a sequence of operations, as the kernel runs its expressions: matches
(which may branch when the answer depends on something the probe leaves open), effects on
the packet's state (marks, notrack), and a final verdict. Branches carry the assumption they
made, so a result that depends on one can say which.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evaluate.packet import Iface, Packet


@dataclass(frozen=True)
class Hit:
    """One rule that matched (or a policy that applied), for the evidence path."""

    chain: str  # "ip filter DOCKER-USER": where the rule lives, as `nft monitor trace` names it
    rule: str  # "handle 7", "rule 3" or "policy"
    text: str
    verdict: str | None  # accept, drop, reject, jump X, return, ... or None (no verdict)

    def __str__(self) -> str:
        end = f" -> {self.verdict}" if self.verdict else ""
        return f"{self.chain} {self.rule}: {self.text}{end}"


class _DeferredText:
    """`Hit.text`: a str, or a rule's text object that renders the same str whenever asked
    (`deferred` true: nftcompile.Text, iptcompile.RuleText), written when first read. Most
    hits are never quoted: at 500 networks each blocked probe runs libvirt's forward chain
    again to see whether it blocks on its own, and the accepting rule's text was rendered for
    each network (~1,000 renders) to be thrown away."""

    def __get__(self, hit: "Hit | None", owner: type | None = None):
        if hit is None:
            return self
        d = hit.__dict__
        text = d["text"]
        if type(text) is not str:
            text = d["text"] = str(text)
        return text

    def __set__(self, hit: "Hit", value) -> None:  # the dataclass __init__ sets it
        hit.__dict__["text"] = value


Hit.text = _DeferredText()  # type: ignore[assignment]  # after @dataclass: it is still a field without default


def quoted(text) -> object:
    """What a Hit's text is given: `text` itself when it can be rendered later alike, else its str
    now (a text naming anonymous sets reads their elements: nftcompile.SetText)."""
    return text if getattr(text, "deferred", False) else str(text)


@dataclass(frozen=True)
class State:
    """A packet on its way through one hook: what rules read and what they changed."""
    pkt: Packet
    hook: str
    prio: int
    iif: Iface | None  # None: the hook has no input device (output, postrouting)
    oif: Iface | None  # None: no output device (prerouting, input)
    ct_state: str
    mark: int | None = 0  # None: unknown
    ct_mark: int | None = 0
    assumed: tuple[str, ...] = ()
    path: tuple[Hit, ...] = ()

    def with_(self, **changes) -> "State":
        """dataclasses.replace without __init__: states are copied on every rule that decides."""
        new = object.__new__(State)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def assume(self, text: str) -> "State":
        return self.with_(assumed=self.assumed + (text,))

    def step(self, s: Hit) -> "State":
        return self.with_(path=self.path + (s,))

    @property
    def before_conntrack(self) -> bool | None:
        """Conntrack attaches its entry at priority -200 of prerouting/output."""
        if self.hook not in ("prerouting", "output"):
            return False
        return True if self.prio < -200 else (None if self.prio == -200 else False)


Branches = list[tuple[bool, State]]


def tri(st: State, result: bool | None, what: str) -> Branches:
    """A match's answer; when unknown, both answers, each remembering what it assumed."""
    if result is None:
        return [(True, st.assume(f"{what}: assumed to match")), (False, st.assume(f"{what}: assumed not to match"))]
    return [(result, st)]


@dataclass(frozen=True)
class Match:
    """A compiled match: a test that splits a state into branches, and its text."""
    test: Callable[[State], Branches]
    text: str
    # (which, name) when the match requires iif/oif to equal a name: lets a chain skip the rule fast
    needs_iface: tuple[str, str] | None = None
    # (family, "saddr"/"daddr", AddrSet) when it requires an address in a set: the same, for addresses
    needs_addr: tuple | None = None
    # (which, proto, intervals) when it requires a transport protocol and a port in intervals
    needs_port: tuple | None = None
    # intervals of IP protocol numbers it requires (a packet of another known protocol fails it)
    needs_proto: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class Effect:
    """A compiled statement that is not a verdict: what it does to a state, and its text."""
    apply: Callable[[State], State]
    text: str
    changes: bool = False  # changes what other rules read (marks, conntrack state)


@dataclass(frozen=True)
class Verdict:
    """A compiled verdict statement (accept, drop, jump CHAIN, ...)."""
    kind: str  # accept, drop, reject, return, jump, goto, continue, nat (accepts, in a nat chain)
    target: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.target}" if self.target else self.kind


@dataclass(frozen=True)
class VMap:
    """A verdict map: the first element equal to the key decides; no element: the rule ends."""

    test: Callable[[State, object], Branches]  # key == element
    entries: tuple[tuple[object, Verdict], ...]
    text: str


@dataclass(frozen=True)
class Opaque:
    """Something the evaluator does not model; reaching it makes the outcome unknown."""

    reason: str


Op = Match | Effect | Verdict | VMap | Opaque


@dataclass(frozen=True)
class Rule:
    """A compiled rule: where it is, its text and its compiled operations."""
    chain: str  # trace-style chain name, e.g. "ip filter FORWARD"
    where: str  # "handle 7" / "rule 3"
    text: str
    ops: tuple[Op, ...]

    @cached_property
    def iface_gate(self) -> tuple[tuple[str, str], ...]:
        """Interface names the rule requires before it does anything (fast skipping)."""
        return tuple(op.needs_iface for op in self._leading_matches() if op.needs_iface)

    @cached_property
    def addr_gate(self) -> tuple[tuple, ...]:
        """Address sets the rule requires before it does anything (fast skipping)."""
        return tuple(op.needs_addr for op in self._leading_matches() if op.needs_addr)

    @cached_property
    def port_gate(self) -> tuple[tuple, ...]:
        """Ports the rule requires before it does anything (fast skipping)."""
        return tuple(op.needs_port for op in self._leading_matches() if op.needs_port)

    @cached_property
    def proto_gate(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Transport protocols the rule requires before it does anything (fast skipping)."""
        return tuple(op.needs_proto for op in self._leading_matches() if op.needs_proto)

    def _leading_matches(self) -> list[Match]:
        out = []
        for op in self.ops:
            if not isinstance(op, Match):
                break
            out.append(op)
        return out
