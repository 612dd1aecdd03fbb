"""`nft list ruleset` text (as sos reports collect it) -> libnftables JSON, without a kernel.

sos runs `nft -a list ruleset` and keeps its text; scan reads rules as libnftables JSON. nft
itself cannot turn text into JSON offline: `nft -j -c -f` only checks (and sends the batch to
the kernel to do so), and loading the text into a namespace would need root and fails on the
`xt` expressions iptables-nft leaves. So this module parses the listing grammar nft prints for
the statements scan understands (vnetmigrate/rules/nft.py) and refuses everything else with
the line: a rule it cannot read exactly makes the ruleset unreadable ("cannot tell"), never a
guessed rule. tests/unit/test_nft_text.py parses every recorded real `nft list ruleset` and
compares each rule's canonical form with the one parsed from nft's own JSON of that ruleset.

Sets, maps, flowtables and other named objects are skipped (live scans do not read them either);
a rule referring to a set keeps the reference ("@name"), as nft's JSON does.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import field
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError

# Named chain priorities (nft(8), "CHAIN PRIORITIES"); the bridge family has its own.
PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
BRIDGE_PRIORITIES = {"dstnat": -300, "filter": -200, "out": 100, "srcnat": 300}
FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
VERDICT_WORDS = ("accept", "drop", "return", "continue")
IFACE_KEYS = ("iifname", "oifname", "iif", "oif", "iiftype", "oiftype")
PAYLOAD_PROTOCOLS = ("ip", "ip6", "tcp", "udp", "th", "icmp", "icmpv6", "ether", "sctp", "udplite", "vlan", "arp")
OPERATORS = ("==", "!=", "<", ">", "<=", ">=")
BITMASK_CT = ("state", "status", "event")
BITMASK_PAYLOAD = (("tcp", "flags"),)  # nft's JSON matches bitmasks with "in"
# Words that start an expression: as a value (`meta mark set ct mark`) they are refused; protocol
# names are values after `ip protocol`, `ip6 nexthdr` and `meta l4proto`.
EXPRESSIONS = PAYLOAD_PROTOCOLS + IFACE_KEYS + ("ct", "meta", "fib", "numgen", "jhash", "symhash", "rt", "socket",
                                                "osf", "exthdr", "mark", "ipsec", "tunnel", "dccp")
PROTOCOL_KEYS = ("protocol", "nexthdr", "l4proto")
# Expression operators scan does not read (concatenations, bit operations): a rule using one is refused.
COMPOUND = (".", "&", "|", "^", "and", "or", "xor", "<<", ">>", "/", "map", "vmap", ":")  # vmap: read by _vmap only
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*",?|[{};]|[^\s{};"]+')
_HANDLE = re.compile(r"\s*# handle (\d+)\s*$")


class NftTextError(InputError):
    pass


@dataclass
class _Table:
    """A table of the listing being read: its chains, rules and what could not be read."""
    family: str
    name: str
    handle: int | None
    chains: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # rules that could not be read exactly (left out)


def parse_ruleset(text: str, origin: str = "nft list ruleset") -> list[_Table]:
    """Every table of the listing with its chains (libnftables JSON objects) and rules; a rule
    that cannot be read exactly is left out and named in its table's `errors`."""
    tables: list[_Table] = []
    table: _Table | None = None
    chain: dict[str, Any] | None = None
    skip = 0  # depth inside a block that is skipped (set, map, flowtable, ...)
    for lineno, raw in enumerate(text.splitlines(), 1):
        m = _HANDLE.search(raw)
        handle = int(m.group(1)) if m else None
        line = raw[:m.start()] if m else raw
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{origin}: line {lineno}"
        if skip:
            skip += line.count("{") - line.count("}")
            continue
        words = line.split()
        if table is None:
            if len(words) == 4 and words[0] == "table" and words[1] in FAMILIES and words[3] == "{":
                table = _Table(words[1], _unquote(words[2]), handle)
                tables.append(table)
                continue
            raise NftTextError(f"{where}: expected a table, got {raw.strip()!r}")
        if chain is None:
            if line == "}":
                table = None
            elif len(words) == 3 and words[0] == "chain" and words[2] == "{":
                chain = {"family": table.family, "table": table.name, "name": _unquote(words[1])}
                if handle is not None:
                    chain["handle"] = handle
                table.chains.append(chain)
            elif words[-1] == "{" and words[0] in ("set", "map", "flowtable", "counter", "quota", "ct", "limit",
                                                     "secmark", "synproxy"):
                skip = 1
            elif words[0] in ("comment", "flags"):
                pass
            else:
                raise NftTextError(f"{where}: unexpected line in table {table.family} {table.name}: {raw.strip()!r}")
            continue
        if line == "}":
            chain = None
        elif words[0] == "type":
            chain.update(_chain_type(line, table.family, where))
        elif words[0] in ("comment", "devices", "policy") and not line.endswith(" {"):
            if words[0] == "policy":
                chain["policy"] = words[1].rstrip(";")
        else:
            if "  " in line or (m is None and raw != raw.rstrip()):
                # nft printed an expression it cannot show as nothing (nft 1.0.6 does so with
                # iptables-nft's ip6 MASQUERADE): the rule as listed is not the rule.
                table.errors.append(f"{where}: a rule with an expression nft could not print: {raw.strip()!r}")
                continue
            try:
                expr, comment = parse_rule(line, table.family, where)
            except NftTextError as exc:
                table.errors.append(exc.message)
                continue
            rule: dict[str, Any] = {"family": table.family, "table": table.name, "chain": chain["name"]}
            if handle is not None:
                rule["handle"] = handle
            rule["expr"] = expr
            if comment is not None:
                rule["comment"] = comment
            table.rules.append(rule)
    if table is not None or skip:
        raise NftTextError(f"{origin}: the listing ends inside a block (truncated?)")
    return tables


def documents(tables: list[_Table], with_rules) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`list chains` and one `list table` document per table for which with_rules(family, name)."""
    chains_doc: dict[str, Any] = {"nftables": []}
    listings = []
    for t in tables:
        head = {"table": {"family": t.family, "name": t.name, **({"handle": t.handle} if t.handle else {})}}
        chains_doc["nftables"].append(head)
        chains_doc["nftables"].extend({"chain": dict(c)} for c in t.chains)
        if with_rules(t.family, t.name):
            listings.append({"nftables": [head, *({"chain": dict(c)} for c in t.chains),
                                          *({"rule": r} for r in t.rules)]})
    return chains_doc, listings


def _chain_type(line: str, family: str, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in (p.strip() for p in line.split(";")):
        words = part.split()
        if not words:
            continue
        if words[0] == "type" and len(words) >= 4 and words[2] == "hook":
            out["type"], out["hook"] = words[1], words[3]
            rest = words[4:]
            if rest[:1] == ["device"] and len(rest) >= 2:
                out["dev"] = _unquote(rest[1])
                rest = rest[2:]
            if rest[:1] != ["priority"] or len(rest) < 2:
                raise NftTextError(f"{where}: base chain without a priority: {line!r}")
            out["prio"] = _priority(rest[1:], family, where)
        elif words[0] == "policy" and len(words) == 2:
            out["policy"] = words[1]
        elif words[0] in ("comment", "devices", "flags"):
            pass
        else:
            raise NftTextError(f"{where}: unexpected chain property {part!r}")
    return out


def _priority(words: list[str], family: str, where: str) -> int:
    names = BRIDGE_PRIORITIES if family == "bridge" else PRIORITIES
    try:
        base = names[words[0]] if words[0] in names else int(words[0])
        if len(words) == 1:
            return base
        if len(words) == 3 and words[1] in "+-":
            return base + int(words[2]) if words[1] == "+" else base - int(words[2])
    except (ValueError, KeyError):
        pass
    raise NftTextError(f"{where}: unreadable chain priority {' '.join(words)!r}")


# -- rules ---------------------------------------------------------------------------------

class _Tokens:
    def __init__(self, line: str, where: str):
        self.items = _TOKEN.findall(line)
        self.i = 0
        self.where = where
        self.line = line

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.items[j] if j < len(self.items) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            self.fail("the rule ends too early")
        self.i += 1
        return tok

    def fail(self, why: str):
        raise NftTextError(f"{self.where}: {why}: {self.line.strip()!r}")


def parse_rule(line: str, family: str, where: str) -> tuple[list[dict[str, Any]], str | None]:
    toks = _Tokens(line, where)
    expr: list[dict[str, Any]] = []
    comment = None
    while toks.peek() is not None:
        word = toks.take()
        if word == "comment":
            comment = _unquote(toks.take())
        elif word in IFACE_KEYS or word in ("mark", "skuid", "skgid"):
            expr.append(_match(toks, {"meta": {"key": word}}))
        elif word == "meta":
            key = toks.take()
            if toks.peek() == "set":
                toks.take()
                expr.append({"mangle": {"key": {"meta": {"key": key}}, "value": _value(toks)}})
            else:
                expr.append(_match(toks, {"meta": {"key": key}}))
        elif word in PAYLOAD_PROTOCOLS and toks.peek() not in (None, "to") and not _is_op(toks.peek()):
            fld = toks.take()
            left = {"payload": {"protocol": word, "field": fld}}
            if toks.peek() == "set":
                toks.take()
                expr.append({"mangle": {"key": left, "value": _value(toks)}})
            else:
                expr.append(_match(toks, left, bitmask=(word, fld) in BITMASK_PAYLOAD))
        elif word == "ct":
            key = toks.take()
            if key in ("original", "reply"):
                direction, key = key, toks.take()
                left: dict[str, Any] = {"ct": {"key": key, "dir": direction}}
            else:
                left = {"ct": {"key": key}}
            expr.append(_match(toks, left, bitmask=key in BITMASK_CT))
        elif word == "fib":
            flags = []
            while toks.peek() not in ("type", "oif", "oifname", None):
                tok = toks.take()
                if tok != ".":
                    flags.append(tok)
            result = toks.take()
            m = _match(toks, {"fib": {"result": result, "flags": flags}})
            if result in ("oif", "oifname") and m["match"]["right"] in ("missing", "exists"):
                m["match"]["right"] = m["match"]["right"] == "exists"  # nft's JSON: a boolean
            expr.append(m)
        elif word == "counter":
            body = {}
            while toks.peek() in ("packets", "bytes"):
                k = toks.take()
                body[k] = _int(toks.take(), toks)
            expr.append({"counter": body or None})
        elif word in VERDICT_WORDS:
            expr.append({word: None})
        elif word in ("jump", "goto"):
            expr.append({word: {"target": _unquote(toks.take())}})
        elif word == "reject":
            expr.append({"reject": _reject(toks)})
        elif word in ("masquerade", "snat", "dnat", "redirect"):
            expr.append({word: _nat(word, toks)})
        elif word == "xt":
            kind, name = toks.take(), _unquote(toks.take())
            if kind not in ("match", "target", "watcher"):
                toks.fail(f"unknown xt expression {kind!r}")
            expr.append({"xt": {"type": kind, "name": name}})
        elif word == "log":
            body = {}
            while toks.peek() in ("prefix", "level", "group", "flags"):
                k = toks.take()
                body[k] = _unquote(toks.take())
            expr.append({"log": body or None})
        else:
            toks.fail(f"statement {word!r} is not understood")
    return expr, comment


def _is_op(tok: str | None) -> bool:
    return tok in OPERATORS


def _match(toks: _Tokens, left: dict[str, Any], bitmask: bool = False) -> dict[str, Any]:
    if toks.peek() == "vmap":
        return _vmap(toks, left)
    op = toks.take() if _is_op(toks.peek()) else None
    if toks.peek() is None:
        toks.fail("a match without a value")
    body = next(iter(left.values()))
    right = _value(toks, bitmask, protocol=body.get("key", body.get("field")) in PROTOCOL_KEYS)
    if toks.peek() in COMPOUND:
        toks.fail(f"the expression operator {toks.peek()!r} is not understood")
    if op is None:
        op = "in" if bitmask else "=="
    return {"match": {"op": op, "left": left, "right": right}}


def _vmap(toks: _Tokens, key: dict[str, Any]) -> dict[str, Any]:
    """`KEY vmap { VALUE : VERDICT, ... }` (firewalld writes these): a verdict statement."""
    toks.take()
    if toks.take() != "{":
        toks.fail("a named verdict map is not read")
    body = next(iter(key.values()))
    protocol = body.get("key", body.get("field")) in PROTOCOL_KEYS
    pairs = []
    while toks.peek() != "}":
        if toks.peek() is None:
            toks.fail("a verdict map is not closed")
        value = _value(toks, protocol=protocol)
        if toks.take() != ":":
            toks.fail("a verdict map without ':'")
        word = toks.take()
        last = word.endswith(",")
        word = word.rstrip(",")
        if word in VERDICT_WORDS:
            verdict: dict[str, Any] = {word: None}
        elif word in ("jump", "goto"):
            target = toks.take()
            last = target.endswith(",")
            verdict = {word: {"target": _unquote(target.rstrip(","))}}
        else:
            toks.fail(f"a verdict map's verdict {word!r} is not understood")
        pairs.append([value, verdict])
        if not last and toks.peek() not in ("}", ","):
            toks.fail("a verdict map entry without ','")
        if toks.peek() == ",":
            toks.take()
    toks.take()
    return {"vmap": {"key": key, "data": {"set": pairs}}}


def _value(toks: _Tokens, bitmask: bool = False, protocol: bool = False) -> Any:
    tok = toks.take()
    if tok in COMPOUND or tok in OPERATORS:
        toks.fail(f"the expression operator {tok!r} is not understood")
    if tok in EXPRESSIONS and not (protocol and tok in PAYLOAD_PROTOCOLS):
        toks.fail(f"an expression as a value ({tok!r}) is not understood")
    if tok == "{":
        items = []
        while True:
            t = toks.peek()
            if t is None:
                toks.fail("an anonymous set is not closed")
            if t == "}":
                toks.take()
                break
            if t == ",":
                toks.take()
                continue
            if t.endswith(",") and len(t) > 1:  # "53," inside { 53, 67 }
                toks.items[toks.i] = t[:-1]
            items.append(_value(toks, protocol=protocol))
        return {"set": items}
    if tok.startswith('"'):
        return _unquote(tok)
    if bitmask and "," in tok:
        return tok.split(",")
    return _scalar(tok, toks)


def _scalar(tok: str, toks: _Tokens) -> Any:
    if tok.isdigit():
        return int(tok)
    if re.fullmatch(r"0x[0-9a-fA-F]+", tok):  # marks: nft's JSON gives the number
        return int(tok, 16)
    if "/" in tok:
        addr, _, length = tok.rpartition("/")
        if _is_address(addr) and length.isdigit():
            return {"prefix": {"addr": addr, "len": int(length)}}
        toks.fail(f"unreadable value {tok!r}")
    if "-" in tok and not tok.startswith("-"):
        lo, _, hi = tok.partition("-")
        if lo.isdigit() and hi.isdigit():
            return {"range": [int(lo), int(hi)]}
        if _is_address(lo) and _is_address(hi):
            return {"range": [lo, hi]}
    if any(c in tok for c in ",:*@") and not _is_address(tok) and not tok.startswith("@"):
        toks.fail(f"unreadable value {tok!r}")
    return tok


def _reject(toks: _Tokens) -> dict[str, Any] | None:
    if toks.peek() != "with":
        return None
    toks.take()
    rtype = toks.take()
    if rtype == "tcp" and toks.peek() == "reset":
        toks.take()
        return {"type": "tcp reset"}
    if rtype not in ("icmp", "icmpv6", "icmpx"):
        toks.fail(f"unknown reject type {rtype!r}")
    if toks.peek() == "type":  # older nft: "reject with icmp type port-unreachable"
        toks.take()
    return {"type": rtype, "expr": toks.take()}


def _nat(kind: str, toks: _Tokens) -> dict[str, Any] | None:
    body: dict[str, Any] = {}
    if toks.peek() in ("ip", "ip6") and kind in ("snat", "dnat"):
        body["family"] = toks.take()
    if toks.peek() == "to":
        toks.take()
        target = toks.take()
        addr, port = _split_host_port(target, toks)
        if addr:
            body["addr"] = _scalar(addr, toks)
        if port:
            lo, _, hi = port.partition("-")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                toks.fail(f"unreadable port {port!r}")
            body["port"] = {"range": [int(lo), int(hi)]} if hi else int(lo)
    flags = []
    while toks.peek() in ("random", "fully-random", "persistent"):
        flags.append(toks.take())
    if toks.peek() is not None and "," in toks.peek() and all(
            f in ("random", "fully-random", "persistent") for f in toks.peek().split(",")):
        flags.extend(toks.take().split(","))
    if flags:
        body["flags"] = flags if len(flags) > 1 else flags[0]
    return body or None


def _split_host_port(target: str, toks: _Tokens) -> tuple[str, str]:
    if target.startswith(":"):
        return "", target[1:]
    if target.startswith("["):  # [v6]:port
        addr, _, rest = target[1:].partition("]")
        return addr, rest.lstrip(":")
    if target.count(":") == 1:
        addr, _, port = target.partition(":")
        return addr, port
    return target, ""


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _int(tok: str, toks: _Tokens) -> int:
    if not tok.isdigit():
        toks.fail(f"expected a number, got {tok!r}")
    return int(tok)


def _unquote(tok: str) -> str:
    if len(tok) >= 2 and tok[0] == tok[-1] == '"':
        return re.sub(r"\\(.)", r"\1", tok[1:-1])
    return tok
