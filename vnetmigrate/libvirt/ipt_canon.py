"""Compare iptables rules written in libvirt's long options with ``iptables-save`` lines.

libvirt writes ``--in-interface virbr0 --protocol udp --destination-port 53 --jump ACCEPT``;
iptables-save prints ``-i virbr0 -p udp -m udp --dport 53 -j ACCEPT``, adds ``/32`` to
host addresses, the default ``--reject-with icmp-port-unreachable``, and reorders
``--ctstate`` flags. ``canonical()`` maps either form to the same key, so a rule of the
model, an item of a removal recipe and a live rule can be compared, whichever iptables
version printed the listing. Options it does not know are kept verbatim (such rules then
only equal rules with the very same option text).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from vnetmigrate.addr import network

_ADDR = {"-s": "src", "--source": "src", "--src": "src", "-d": "dst", "--destination": "dst", "--dst": "dst"}
_VALUE = {"-i": "in", "--in-interface": "in", "-o": "out", "--out-interface": "out",
          "-p": "proto", "--protocol": "proto", "--dport": "dport", "--destination-port": "dport",
          "--sport": "sport", "--source-port": "sport", "-j": "target", "--jump": "target",
          "--to-ports": "to", "--to-source": "to", "--to-destination": "to", "--reject-with": "reject-with"}
_IMPLICIT_MATCHES = {"tcp", "udp", "conntrack"}
_DEFAULT_REJECT = {4: "icmp-port-unreachable", 6: "icmp6-port-unreachable"}


@dataclass(frozen=True)
class SavedRule:
    """One ``-A CHAIN ...`` line of an iptables-save listing."""

    family: int
    table: str
    chain: str
    line: str
    key: tuple

    @property
    def spec(self) -> str:
        return self.line.split(" ", 2)[2] if self.line.count(" ") >= 2 else ""


def canonical(args: Sequence[str], family: int) -> tuple:
    """A comparable key for a rule specification (without table, action and chain)."""
    items: list[tuple] = []
    neg = False
    i = 0
    while i < len(args):
        tok = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if tok == "!":
            neg = True
            i += 1
            continue
        if tok in _ADDR:
            net = network(nxt)
            items.append((_ADDR[tok], neg, str(net)))
            i += 2
        elif tok in ("-m", "--match"):
            if nxt not in _IMPLICIT_MATCHES:
                items.append(("match", neg, nxt))
            i += 2
        elif tok == "--ctstate":
            items.append(("ctstate", neg, ",".join(sorted(nxt.upper().split(",")))))
            i += 2
        elif tok in ("-c", "--set-counters"):
            i += 3
        elif tok == "--checksum-fill":
            items.append(("checksum-fill", neg, ""))
            i += 1
        elif tok in _VALUE:
            key = _VALUE[tok]
            value = nxt.lower() if key == "proto" else nxt
            if key == "to":
                value = _nat_to(value)
            if not (key == "reject-with" and value == _DEFAULT_REJECT.get(family)):
                items.append((key, neg, value))
            i += 2
        else:
            items.append(("raw", neg, tok))
            i += 1
        neg = False
    return tuple(sorted(items))


def _nat_to(value: str) -> str:
    """``A-A[:P]`` is listed as ``A[:P]`` (an IPv4 SNAT range of one address)."""
    addr, sep, port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    lo, dash, hi = addr.partition("-")
    if dash and lo == hi:
        addr = lo
    return addr + sep + port


def parse_save(text: str, family: int) -> list[SavedRule]:
    """Every rule of an iptables-save listing, in listing order."""
    rules: list[SavedRule] = []
    table = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("-A ") and table:
            tokens = shlex.split(line)
            if len(tokens) >= 2:
                rules.append(SavedRule(family, table, tokens[1], line, canonical(tokens[2:], family)))
    return rules
