"""Packet trace: `nft monitor` in the host namespace plus a ``meta nftrace set 1`` table.

What `nft monitor` prints for a traced packet (nftables 1.0.6, kernel 6.18), one line each::

    trace id 5c12242d ip filter FORWARD packet: iif "virbr0" oif "eth0" ... ip id 1666 ...
    trace id 5c12242d ip libvirt_network guest_output rule ip saddr ... accept (verdict accept)
    trace id 5c12242d ip filter FORWARD policy drop

A "packet:" line opens one base chain's evaluation (a *pass*); rule lines follow (jumps
included), and the pass ends with a rule whose verdict is accept/drop, or with a policy.
The trace id is not stable across hooks here (prerouting and forward passes of one packet
had different ids), so passes are tied to a packet by its IPv4 ``ip id``.

Synchronisation without sleeps: the monitor is subscribed once it echoes a ruleset event
we caused (a marker chain), and every trace event of the probe has been printed once the
monitor echoes the deletion of the trace table (events arrive on one socket, in order).
Rules added after the monitor started print as "unknown rule handle N", so the trace table
is created before the monitor starts.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from dataclasses import dataclass, field

from vnetmigrate.collect.host import which
from vnetmigrate.errors import EnvironmentProblem
from tests.sandbox import namespaces, rules

TABLE = "vnm_trace"
_LINE_RE = re.compile(r"^trace id (\w+) (\w+) (\S+) (\S+) (packet: |rule |verdict |policy |unknown rule )(.*)$")
_VERDICT_RE = re.compile(r"\(verdict (\w+)")
_IPID_RE = re.compile(r"\bip id (\d+)\b")


@dataclass(frozen=True)
class TraceEvent:
    trace_id: str
    family: str
    table: str
    chain: str
    kind: str      # packet, rule, verdict, policy
    text: str      # the rest of the line (packet description, rule, verdict word)
    verdict: str | None

    @property
    def where(self) -> str:
        return f"{self.family} {self.table} {self.chain}"

    def __str__(self) -> str:
        return f"{self.where} {self.kind} {self.text}".rstrip()


@dataclass
class Pass:
    """One base chain's evaluation of one packet."""

    packet: TraceEvent
    events: list[TraceEvent] = field(default_factory=list)

    @property
    def end(self) -> TraceEvent | None:
        final = [e for e in self.events if e.verdict in ("accept", "drop")]
        return final[0] if final else None


@dataclass
class TracedPacket:
    ip_id: str | None
    passes: list[Pass] = field(default_factory=list)

    @property
    def decided_by(self) -> TraceEvent | None:
        """The event that dropped the packet, else the last base chain's accept."""
        ends = [p.end for p in self.passes if p.end is not None and p.packet.table != TABLE]
        drops = [e for e in ends if e.verdict == "drop"]
        return drops[0] if drops else (ends[-1] if ends else None)

    @property
    def verdict(self) -> str | None:
        return self.decided_by.verdict if self.decided_by else None

    def end_in(self, base_chain: str) -> TraceEvent | None:
        """How the base chain ``"family table chain"`` ended for this packet (None: not seen)."""
        return next((p.end for p in self.passes if p.packet.where == base_chain), None)


def parse(lines: list[str]) -> list[TracedPacket]:
    packets: list[TracedPacket] = []
    by_ipid: dict[str | None, TracedPacket] = {}
    current: dict[str, Pass] = {}  # trace id -> open pass
    for line in lines:
        m = _LINE_RE.match(line.strip())
        if not m:
            continue
        tid, family, table, chain, kind, rest = m.groups()
        kind = kind.strip().rstrip(":").replace("unknown rule", "rule")
        verdict = rest.split()[0] if kind in ("policy", "verdict") and rest else None
        if kind == "rule":
            vm = _VERDICT_RE.search(rest)
            verdict = vm.group(1) if vm else None
        event = TraceEvent(tid, family, table, chain, kind, rest.strip(), verdict)
        if kind == "packet":
            ipid = (_IPID_RE.search(rest) or [None, None])[1]
            if ipid is None or ipid not in by_ipid:
                by_ipid[ipid] = TracedPacket(ipid)
                packets.append(by_ipid[ipid])
            current[tid] = Pass(event)
            by_ipid[ipid].passes.append(current[tid])
        elif tid in current:
            current[tid].events.append(event)
    return packets


@dataclass
class TraceResult:
    lines: list[str]
    packets: list[TracedPacket]

    @property
    def first(self) -> TracedPacket | None:
        return self.packets[0] if self.packets else None

    @property
    def verdict(self) -> str | None:
        return self.first.verdict if self.first else None

    @property
    def decided_by(self) -> TraceEvent | None:
        return self.first.decided_by if self.first else None


class Tracer:
    """``with Tracer(ns, match) as t: <send probe>`` then ``t.result``."""

    def __init__(self, ns: str, match: str, timeout: float = 10.0):
        self.ns, self.match, self.timeout = ns, match, timeout
        self.result: TraceResult | None = None
        self._proc: subprocess.Popen | None = None
        self._buf = b""

    def __enter__(self) -> "Tracer":
        nft = which("nft")
        if nft is None:
            raise EnvironmentProblem("nft is not installed (needed for `nft monitor`)")
        chains = "".join(
            f"add chain inet {TABLE} {name} {{ type filter hook {hook} priority -350; policy accept; }}\n"
            f"add rule inet {TABLE} {name} {self.match} meta nftrace set 1\n"
            for name, hook in (("pre", "prerouting"), ("out", "output")))
        rules.nft_cmd(self.ns, f"add table inet {TABLE}\n{chains}")
        self._proc = subprocess.Popen(namespaces.exec_argv(self.ns, [nft, "monitor"]), stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        os.set_blocking(self._proc.stdout.fileno(), False)  # type: ignore[union-attr]
        try:
            for n in range(200):
                rules.nft_cmd(self.ns, f"add chain inet {TABLE} sync{n}")
                if self._read_until(f"add chain inet {TABLE} sync", 0.02):
                    return self
            raise EnvironmentProblem("nft monitor did not start listening within 4 s")
        except BaseException:
            self._cleanup()
            raise

    def _read_until(self, marker: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        out = self._proc.stdout  # type: ignore[union-attr]
        while marker.encode() not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                return False
            chunk = os.read(out.fileno(), 1 << 16)
            if not chunk:
                return False
            self._buf += chunk
        return True

    def __exit__(self, *exc: object) -> None:
        try:
            rules.nft_cmd(self.ns, f"delete table inet {TABLE}")
            # Everything traced was printed once the deletion is echoed. On a loaded machine that
            # can take seconds; a shorter wait returned half a trace (a line cut after "iif").
            complete = self._read_until(f"delete table inet {TABLE}", self.timeout)
        finally:
            self._cleanup()
        if not complete and exc == (None, None, None):
            raise EnvironmentProblem(f"nft monitor did not echo the end of the trace within {self.timeout:.0f} s: "
                                     "the trace is incomplete")
        lines = self._buf.decode("utf-8", "replace").splitlines()
        traces = [line for line in lines if line.startswith("trace id ")]
        self.result = TraceResult(traces, parse(traces))

    def _cleanup(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(2)
        try:
            rules.nft_cmd(self.ns, f"delete table inet {TABLE}")
        except EnvironmentProblem:
            pass  # already gone: the normal case
