"""A packet and its interfaces that remember what the evaluator read of them.

A host's probes differ in a few fields (protocol, ports, the network's bridge and addresses),
and most chains read few of them: Docker's FORWARD asks only whether a device is docker0. A run
of a chain (chainrun.ChainRunner) or a whole evaluation (engine.evaluate) records what it read
through these, and is reused for a later packet that gives the same answers to the same reads.
"""

from __future__ import annotations

from vnetmigrate.evaluate.packet import Iface


class PacketReads:
    """A packet that remembers which of its fields (and properties) were read, and their values."""

    __slots__ = ("_pkt", "reads")

    def __init__(self, pkt):
        self._pkt = pkt
        self.reads: dict[str, object] = {}

    def __getattr__(self, name: str):
        value = getattr(self._pkt, name)
        self.reads[name] = value
        return value


class IfaceReads:
    """An interface that remembers the names it was asked to match (`decide`) and the fields
    read of it; anything else — a new interface made from it (`assume`), hashing or comparing
    it (a cache key) — makes what read it depend on the whole interface (`whole`)."""

    __slots__ = ("real", "checks", "whole")

    def __init__(self, real: Iface):
        self.real = real
        self.checks: dict[tuple[str, str], object] = {}
        self.whole = False

    def decide(self, pattern: str) -> bool | None:
        result = self.real.decide(pattern)
        self.checks[("decide", pattern)] = result
        return result

    def __getattr__(self, name: str):
        value = getattr(self.real, name)
        if callable(value):
            self.whole = True
        else:
            self.checks[("attr", name)] = value
        return value

    def __str__(self) -> str:
        return self.name if self.name is not None else self.label

    def __repr__(self) -> str:
        self.whole = True
        return repr(self.real)

    def __eq__(self, other) -> bool:
        self.whole = True
        return self.real == unwrap(other)

    def __hash__(self) -> int:
        self.whole = True
        return hash(self.real)

    def same_answers(self, dev: Iface) -> bool:
        """Whether `dev` answers every recorded read as this one did (not for `whole`)."""
        return all((dev.decide(arg) if kind == "decide" else getattr(dev, arg)) == value
                   for (kind, arg), value in self.checks.items())


def unwrap(dev):
    """The interface itself, for a cache key (which then depends on all of it)."""
    if type(dev) is IfaceReads:
        dev.whole = True
        return dev.real
    return dev
