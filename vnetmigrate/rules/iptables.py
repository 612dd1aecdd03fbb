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
from typing import NamedTuple

from vnetmigrate.addr import network_text
from vnetmigrate.dataclass_code import dataclass
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
    """A comparable key for a rule specification (the words after the chain).

    Ownership keys every rule in libvirt's chains and every rule the model expects (3,800 at
    100 networks), and those rules differ from network to network only in the values of
    -i/-o/-s/-d. So the key is made once per *shape* (the words with those values replaced by
    slots, see `_plan`) and the values are filled in; `exact_canonical` is the direct
    computation, which tests compare this with."""
    fam = family if isinstance(family, int) else (4 if family in ("ipv4", "ip") else 6)
    shape = list(words)
    values: list[str] = []
    last = len(shape) - 1
    after = -1  # a word right after a slotted option is its value, not an option
    for i in [i for i, w in enumerate(shape) if w in _SLOTTED]:
        if i == after or i == last:
            continue
        value = shape[i + 1]
        if value[:1] == "-" or value == "!":  # a word parse() may read as an option: no shape
            return exact_canonical(words, fam)
        if len(values) < _MAX_SLOTS:  # more: the rest stay in the shape as they are
            shape[i + 1] = _SLOTS[len(values)]
        values.append(value)
        after = i + 1
    key = (tuple(shape), fam)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(key[0], fam)
        if len(_PLANS) < _MAX_PLANS:
            _PLANS[key] = plan
    if plan is False:
        return exact_canonical(words, fam)
    fixed, slotted = plan
    if not slotted:
        return fixed
    items = list(fixed)
    for kind, neg, k in slotted:
        value = values[k]
        items.append((kind, neg, _address(value) if kind in ("src", "dst") else value))
    return tuple(sorted(items))


# -- the shape of a rule: its key made once, its -i/-o/-s/-d values filled in -------------
#
# Why filling in is exact: parse() decides what a word is by comparing it with "!", the
# option names it knows (all start with "-") and "starts with -"; a word that is none of
# these (checked above for every value put in a slot) and that parse reads as the value of a
# core option is never looked at again. The slot markers are such words too, so parse reads
# the shape exactly as it reads the words. `_plan` accepts a shape only if parse reads every
# slot as the value of a core -i/-o/-s/-d, whose items `_items` makes from the value alone:
# verbatim for -i/-o, `_address` for -s/-d. The items are sorted after filling in: their
# order depends on the values.

_SLOTTED = frozenset(k for k, v in CORE.items() if v in ("-i", "-o", "-s", "-d"))
_MAX_SLOTS = 8
_SLOTS = tuple(f"\x00slot{k}" for k in range(_MAX_SLOTS))
_SLOT_INDEX = {s: k for k, s in enumerate(_SLOTS)}
_PLANS: dict[tuple, "tuple[tuple, tuple] | bool"] = {}
_MAX_PLANS = 4096  # hand-made rules in libvirt's chains may each be a shape of its own


def _plan(shape: tuple[str, ...], fam: int) -> "tuple[tuple, tuple] | bool":
    """(the items that do not depend on a slot, sorted; (kind, negated, slot) of the others),
    or False when parse reads a slot as anything but the value of a core -i/-o/-s/-d."""
    p = parse(shape)
    slots = set(_SLOT_INDEX)
    seen = 0
    for module, name, values, _neg in p.opts:
        if module in slots or name in slots:
            return False
        if any(v in slots for v in values):
            if module is not None or name not in ("-i", "-o", "-s", "-d") or len(values) != 1:
                return False
            seen += 1
    if p.target in slots or any(w in slots for w in p.target_args):
        return False
    if seen != sum(1 for w in shape if w in slots):
        return False
    fixed, slotted = [], []
    for item in _items(p, fam):
        k = _SLOT_INDEX.get(item[2]) if isinstance(item[2], str) else None
        if k is None:
            fixed.append(item)
        else:
            slotted.append((item[0], item[1], k))
    return tuple(sorted(fixed)), tuple(slotted)


def _address(value: str) -> str:
    """The key of an -s/-d value: its network as text, or the value itself if it is none."""
    key = _ADDRESSES.get(value)
    if key is None:
        try:
            key = network_text(value)
        except ValueError:
            key = value
        if len(_ADDRESSES) < 8192:
            _ADDRESSES[value] = key
    return key


_ADDRESSES: dict[str, str] = {}


def exact_canonical(words: Sequence[str], family: int | str) -> tuple:
    """`canonical` computed directly from the words (no shape)."""
    fam = family if isinstance(family, int) else (4 if family in ("ipv4", "ip") else 6)
    return tuple(sorted(_items(parse(words), fam)))


def _items(p: Parsed, fam: int) -> list[tuple]:
    items: list[tuple] = []
    for _module, name, values, neg in p.opts:
        value = values[0] if values else ""
        if name in ("-s", "-d"):
            items.append(("src" if name == "-s" else "dst", neg, _address(value)))
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
    return items


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
