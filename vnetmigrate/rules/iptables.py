"""iptables rules, typed: the words of `-A CHAIN ...` (iptables -S / iptables-save, nft or
legacy) or of libvirt's argv, parsed once into options and a target.

`parse(words)` reads the words the way iptables does: ``!`` negates the next option; core
options (-i/-o/-s/-d/-p, long forms too) take one value; ``-m MODULE`` loads a match whose
options (``--dport 80``, ``--ctstate A,B``) take the values up to the next option (a comment
takes exactly one); ``-j``/``-g`` ends the matches and the rest belongs to the target.
Option names are normalized (``--in-interface`` -> ``-i``, ``--match`` -> ``-m``, ``--jump``
-> ``-j``, ``--destination-port`` -> ``--dport``) so every consumer reads one spelling.

`canonical(words, family)` is a comparable key, equal for a rule as libvirt writes it
(``--in-interface virbr0 --protocol udp --destination-port 53 --jump ACCEPT``) and as
iptables-save prints it back (``-i virbr0 -p udp -m udp --dport 53 -j ACCEPT``, ``/32``
added to host addresses, the default ``--reject-with`` spelled out, ``--ctstate`` flags
reordered). Options it does not know are kept verbatim.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from vnetmigrate.addr import network_text
from vnetmigrate.errors import InputError

# An option: (module it belongs to or None, normalized name, its values, negated with `!`).
Opt = tuple  # tuple[str | None, str, tuple[str, ...], bool]

CORE = {"-i": "-i", "--in-interface": "-i", "-o": "-o", "--out-interface": "-o", "-s": "-s", "--source": "-s",
        "--src": "-s", "-d": "-d", "--destination": "-d", "--dst": "-d", "-p": "-p", "--protocol": "-p"}
_LONG = {"--destination-port": "--dport", "--source-port": "--sport", "--destination-ports": "--dports",
         "--source-ports": "--sports"}
_TARGET = {"-j": False, "--jump": False, "-g": True, "--goto": True}


class Parsed(NamedTuple):  # a tuple: made for every rule of a 50,000-rule host
    opts: tuple[Opt, ...]       # matches, in order; a module load is (None, "-m", (name,), neg)
    target: str | None          # -j / -g target
    goto: bool
    target_args: tuple[str, ...]  # the words after the target


def parse(words: Sequence[str]) -> Parsed:
    opts: list[Opt] = []
    n = len(words)
    i, neg, module = 0, False, None
    while i < n:
        w = words[i]
        if w == "!":
            neg, i = True, i + 1
            continue
        if w in _TARGET:
            target = words[i + 1] if i + 1 < n else ""
            return Parsed(tuple(opts), target, _TARGET[w], tuple(words[i + 2:]))
        core = CORE.get(w)
        if core is not None:
            opts.append((None, core, (words[i + 1] if i + 1 < n else "",), neg))
            i, neg = i + 2, False
            continue
        if w == "-m" or w == "--match":
            module = words[i + 1] if i + 1 < n else ""
            opts.append((None, "-m", (module,), neg))
            i, neg = i + 2, False
            continue
        # a module's option: its values run up to the next option (comments take exactly one)
        if w == "--comment":
            j = i + 2
        else:
            j = i + 1
            while j < n and not words[j].startswith("-") and words[j] != "!":
                j += 1
        opts.append((module, _LONG.get(w, w), tuple(words[i + 1:j]), neg))
        i, neg = j, False
    return Parsed(tuple(opts), None, False, ())


# -- canonical comparison ------------------------------------------------------------------

_KEYS = {"-i": "in", "-o": "out", "-p": "proto", "--dport": "dport", "--sport": "sport"}
_IMPLICIT_MATCHES = {"tcp", "udp", "conntrack"}
_TO = ("--to-ports", "--to-source", "--to-destination")
_DEFAULT_REJECT = {4: "icmp-port-unreachable", 6: "icmp6-port-unreachable"}


def canonical(words: Sequence[str], family: int | str) -> tuple:
    """A comparable key for a rule specification (the words after the chain)."""
    fam = family if isinstance(family, int) else (4 if family in ("ipv4", "ip") else 6)
    p = parse(words)
    items: list[tuple] = []
    for _module, name, values, neg in p.opts:
        value = values[0] if values else ""
        if name in ("-s", "-d"):
            try:
                value = network_text(value)
            except ValueError:
                pass
            items.append(("src" if name == "-s" else "dst", neg, value))
        elif name == "-m":
            if value not in _IMPLICIT_MATCHES:
                items.append(("match", neg, value))
        elif name == "--ctstate" and len(values) == 1:
            items.append(("ctstate", neg, ",".join(sorted(value.upper().split(",")))))
        elif name in ("-c", "--set-counters"):
            pass
        elif name in _KEYS and len(values) == 1:
            items.append((_KEYS[name], neg, value.lower() if name == "-p" else value))
        else:
            items.append(("raw", neg, name))
            items += [("raw", False, v) for v in values]
    if p.target is not None:
        items.append(("target", False, p.target) if not p.goto else ("raw", False, "-g"))
        if p.goto:
            items.append(("raw", False, p.target))
        items += _target_items(p.target_args, fam)
    return tuple(sorted(items))


def _target_items(args: tuple[str, ...], fam: int) -> list[tuple]:
    items: list[tuple] = []
    i, neg = 0, False
    while i < len(args):
        tok = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if tok == "!":
            neg, i = True, i + 1
            continue
        if tok in _TO:
            items.append(("to", neg, _nat_to(nxt)))
            i += 2
        elif tok == "--reject-with":
            if nxt != _DEFAULT_REJECT.get(fam):
                items.append(("reject-with", neg, nxt))
            i += 2
        elif tok == "--checksum-fill":
            items.append(("checksum-fill", neg, ""))
            i += 1
        else:
            items.append(("raw", neg, tok))
            i += 1
        neg = False
    return items


def _nat_to(value: str) -> str:
    """``A-A[:P]`` is listed as ``A[:P]`` (an IPv4 SNAT range of one address)."""
    addr, sep, port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    lo, dash, hi = addr.partition("-")
    if dash and lo == hi:
        addr = lo
    return addr + sep + port


# -- a live rule ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IptRule:
    """A rule of an iptables listing: where it is and its words."""
    family: str  # ipv4 / ipv6
    table: str
    chain: str
    index: int  # 1-based position in its chain, as `iptables -L --line-numbers` counts
    args: tuple[str, ...]  # the words after `-A CHAIN`

    @property
    def text(self) -> str:
        return " ".join(["-A", self.chain, *(quote(a) for a in self.args)])

    def parse(self) -> Parsed:
        return parse(self.args)

    def canon(self) -> tuple:
        return canonical(self.args, self.family)

    def option(self, *flags: str) -> tuple[str | None, bool]:
        """The value of the first of `flags` and whether it was negated with `!`."""
        for i, word in enumerate(self.args):
            if word in flags and i + 1 < len(self.args):
                return self.args[i + 1], i > 0 and self.args[i - 1] == "!"
        return None, False

    @property
    def target(self) -> str | None:
        return self.option("-j", "--jump", "-g", "--goto")[0]

    @property
    def in_interface(self) -> str | None:
        value, neg = self.option("-i", "--in-interface")
        return None if value is None or neg else value

    @property
    def out_interface(self) -> str | None:
        value, neg = self.option("-o", "--out-interface")
        return None if value is None or neg else value

    def where(self) -> str:
        return f"{self.family} {self.table} {self.chain} rule {self.index}"


def split_words(line: str, where: str) -> list[str]:
    """Split a rule line; shlex (slow) only when it has quotes."""
    if '"' not in line and "'" not in line and "\\" not in line:
        return line.split()
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}: {line!r}")


_NEEDS_QUOTES = re.compile(r"[ \"'\\]")


def quote(word: str) -> str:
    return shlex.quote(word) if word and word != "!" and _NEEDS_QUOTES.search(word) else word
