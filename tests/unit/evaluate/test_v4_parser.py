"""The evaluator's plain-IPv4 reader (values._v4, values._v4_prefix; iptlazy._v4_gate reads `-s`/
`-d` with it) accepts and refuses exactly what its earlier spellings did, on odd inputs as
iptables -S, nft's JSON and hand-written rules can hold them: leading zeros, short forms, /33,
whitespace, signs, non-ASCII digits, hex, empty parts.

The references below are the code as it was before the reader used socket.inet_pton (the
Python octet parser of values.py, and iptlazy's own inet_pton copy), kept verbatim: a
difference in any input fails here before it can change a verdict.
"""

from __future__ import annotations

import itertools
import random
import socket
from typing import Any

import pytest

from vnetmigrate.evaluate import iptlazy, values
from vnetmigrate.evaluate.iptcompile import core_match
from vnetmigrate.evaluate.values import AddrSet


def reference_v4(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    parts = text.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for part in parts:
        if not (part.isascii() and part.isdigit()) or len(part) > 3 or (len(part) > 1 and part[0] == "0"):
            return None
        octet = int(part)
        if octet > 255:
            return None
        n = n << 8 | octet
    return n


def reference_gate(name: str, value: str) -> tuple | None:
    addr, slash, length = value.partition("/")
    if slash:
        if not (length.isascii() and length.isdigit()) or int(length) > 32:
            return None
        bits = int(length)
    else:
        bits = 32
    try:
        n = int.from_bytes(socket.inet_pton(socket.AF_INET, addr), "big")
    except (OSError, ValueError):
        return None
    host = (1 << (32 - bits)) - 1
    return "ip", {"-s": "saddr", "-d": "daddr"}[name], AddrSet.of_ranges([(4, n & ~host, (n & ~host) | host)])


OCTETS = ("0", "00", "000", "01", "007", "1", "9", "10", "99", "099", "100", "199", "255", "256", "0255", "999",
          "1000", "", " 1", "1 ", "+1", "-1", "0x1", "1e2", "١", "²", "1\t", "\x001")
ODD = [
    "10.0.0.1", "0.0.0.0", "255.255.255.255", "010.0.0.1", "10.0.0.01", "10.0.1", "10.1", "10", "167772161",
    "0x0a.0.0.1", "0xa000001", "10.0.0.1.", ".10.0.0.1", "10..0.1", "10.0.0.1.5", "10.0.0.256", "1.2.3.4 ",
    " 1.2.3.4", "1.2.3.4\n", "1.2.3.4\x00", "1.2.3.4\x00junk", "1\u200b.2.3.4", "١.٢.٣.٤", "1.2.3.٤",
    "１.2.3.4", "::ffff:1.2.3.4", "::1", "fe80::1", "1.2.3.4%eth0", "1.2.3.4/8", "", ".", "...", "a.b.c.d",
    "\udcff.1.1.1", "1.2.3.-4", "1.2.3.+4", "01.02.03.04", "0.0.0.00", "1.1.1.1e0", "1.1.1.0x1",
]
NON_STRINGS = [None, 1, 167772161, 1.5, b"1.2.3.4", ["1.2.3.4"], {"addr": "1.2.3.4"}, True]
LENGTHS = ("", "0", "1", "8", "24", "31", "32", "33", "032", "0032", "+8", "-1", " 8", "8 ", "١", "1e1", "0x8",
           "99999999999999999999", "8/8")


def _inputs() -> list[str]:
    out = list(ODD)
    out += [".".join(p) for p in itertools.product(OCTETS, ("0", "255"), ("1",), OCTETS)]
    out += [".".join(p) for p in itertools.product(("10",), OCTETS, OCTETS, ("1",))]
    rng = random.Random(13)  # a fixed seed: the same inputs every run
    alphabet = "0123456789" * 4 + "....." + " \t\n/+-xXeE:%" + "١²０"
    out += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 17))) for _ in range(20000)]
    out += [".".join(str(rng.randint(0, 300)).zfill(rng.choice((1, 1, 1, 2, 3))) for _ in range(4))
            for _ in range(20000)]
    return out


INPUTS = _inputs()


def test_the_ipv4_reader_accepts_and_refuses_exactly_what_it_did():
    different = [(t, reference_v4(t), values._v4(t)) for t in [*INPUTS, *NON_STRINGS] if reference_v4(t) != values._v4(t)]
    assert different == []
    accepted = sum(reference_v4(t) is not None for t in INPUTS)
    assert 1000 < accepted < len(INPUTS) - 1000, "the inputs hold both kinds"


def test_prefixes_read_as_before():
    for addr, length in itertools.product(ODD[:12] + INPUTS[-200:], [*LENGTHS, 0, 32, 33, -1, True, None, 8.0]):
        old = reference_v4(addr)
        if isinstance(length, str):
            bits = int(length) if length.isascii() and length.isdigit() else None
        else:
            bits = length
        if old is None or not isinstance(bits, int) or isinstance(bits, bool) or not 0 <= bits <= 32:
            expected = None
        else:
            host = (1 << (32 - bits)) - 1
            expected = (4, old & ~host, (old & ~host) | host)
        assert values._v4_prefix(addr, length) == expected, (addr, length)


def _plain(gate: tuple | None) -> tuple | None:
    """A gate with its AddrSet as the ranges it holds (AddrSet compares by identity)."""
    return None if gate is None else (gate[0], gate[1], tuple(gate[2].ranges))


@pytest.mark.parametrize("name", ["-s", "-d"])
def test_the_iptables_address_gate_is_the_one_it_was_and_the_compiled_rules(name):
    samples = ODD + INPUTS[:3000:7] + INPUTS[-3000::7]
    checked = 0
    for addr in samples:
        for value in [addr, *(f"{addr}/{n}" for n in LENGTHS)]:
            new, old = _plain(iptlazy._v4_gate(name, value)), _plain(reference_gate(name, value))
            assert new == old, value
            if new is not None:  # what the compiled rule's match needs
                assert _plain(core_match(name, value, False, "ip", False).needs_addr) == new, value
                checked += 1
    assert checked > 500
