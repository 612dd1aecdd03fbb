"""Redaction of a support bundle: addresses, MAC addresses and host/domain names, consistently.

A redacted bundle must still analyse to the same findings, so the mapping keeps structure:

- IPv4/IPv6 addresses are mapped prefix-preservingly (each network bit is flipped or not by a
  keyed function of the bits before it, as in Crypto-PAn): two addresses that share a prefix
  share the mapped prefix, so containment and prefix lengths still hold. Only the network part
  is mapped: host bits (beyond the longest prefix the bundle itself names for the address, /24
  or /64 when it names none) are kept, so "192.168.122.0/24" stays a valid network and ".1"
  stays the gateway. The range an address belongs to is kept (10/8, 172.16/12, 192.168/16,
  100.64/10 stay private; public addresses keep their first octet, IPv6 its first 16 bits),
  and addresses that identify nobody are left alone: loopback, link-local, multicast,
  0.0.0.0/8, 240.0.0.0/4 (netmasks, 255.255.255.255), ::/16.
- MAC addresses keep their multicast and locally-administered bits; multicast ones are kept.
- Host and domain names (the host's own, libvirt networks' DNS domains and host entries) are
  replaced as whole words by `name-N.invalid`.

The first bit of every mapped network part is always flipped, so no address maps onto itself,
and a key is drawn until no mapped address or MAC equals any original one: a search of the
redacted bundle for any original finds nothing. Where the bundle's addresses fill most of
their range, some replacement must equal an original used elsewhere (a "coincidence"): those
originals are counted and listed in the map, so whoever searches for them knows that a hit
may be another value's replacement.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable
from dataclasses import field

from vnetmigrate.dataclass_code import dataclass

IPV4 = re.compile(r"(?<![0-9A-Za-z.])(\d{1,3}(?:\.\d{1,3}){3})(?![0-9A-Za-z]|\.\d)")
IPV6 = re.compile(r"(?<![0-9A-Za-z:.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![0-9A-Za-z:])")
MAC = re.compile(r"(?<![0-9A-Za-z:])([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})(?![0-9A-Za-z:])")
# Where the bundle names a prefix length: "ADDR/LEN", libnftables' {"addr": A, "len": N},
# libvirt's <ip address=A prefix=N> or <ip address=A netmask=M>.
CIDR = re.compile(r"([0-9A-Fa-f:.]+)/(\d{1,3})\b")
JSON_PREFIX = re.compile(r'"addr":\s*"([0-9A-Fa-f:.]+)",\s*"len":\s*(\d{1,3})')
XML_PREFIX = re.compile(r"""address=['"]([0-9A-Fa-f:.]+)['"][^>]*?\b(prefix|netmask)=['"]([0-9.]+)['"]""")
# libvirt network XML: <domain name=.../>, <host ...><hostname>...</hostname>, <host name=...>
XML_NAMES = (re.compile(r"""<domain\b[^>]*\bname=['"]([^'"]+)['"]"""),
             re.compile(r"<hostname>([^<]+)</hostname>"),
             re.compile(r"""<host\b[^>]*\bname=['"]([^'"]+)['"]"""))
# Names that are words of the tools' own vocabulary: replacing them would change the evidence.
NOT_NAMES = {"localhost", "localhost.localdomain", "localdomain", "local", "default", "libvirt", "docker",
             "host", "none", "(none)"}
KEEP_V4 = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3")]
RANGES_V4 = [(ipaddress.ip_network(n), p) for n, p in (("10.0.0.0/8", 8), ("172.16.0.0/12", 12),
                                                       ("192.168.0.0/16", 16), ("100.64.0.0/10", 10))]
KEEP_V6 = [ipaddress.ip_network(n) for n in ("::/16", "fe80::/10", "ff00::/8")]
DEFAULT_PREFIX = {4: 24, 6: 64}
ATTEMPTS = 50
DENSE = 2000  # originals beyond which collisions are likely unavoidable: fewer keys are tried


@dataclass
class Redactor:
    """One bundle's mapping. `learn` every text first, then `apply` to each."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # version -> prefix length -> the network parts (int) the bundle names with that length
    prefixes: dict[int, dict[int, set[int]]] = field(default_factory=lambda: {4: {}, 6: {}})
    originals: set[str] = field(default_factory=set)  # every address and MAC seen, normalised
    names: set[str] = field(default_factory=set)
    addresses: dict[str, str] = field(default_factory=dict)
    macs: dict[str, str] = field(default_factory=dict)
    name_map: dict[str, str] = field(default_factory=dict)
    _name_re: re.Pattern[str] | None = None
    _memo: dict[str, str] = field(default_factory=dict)
    coincidences: int = 0
    coincident: set[str] = field(default_factory=set)  # originals that are also some other original's image
    _bits: dict[tuple[int, int, int], int] = field(default_factory=dict)

    # -- learning -----------------------------------------------------------
    def add_names(self, names: Iterable[str], shortest: int = 3) -> None:
        """Names to replace; `shortest` 2 for the host's own name ("vm"), 3 for names in files."""
        for name in names:
            name = name.strip().rstrip(".").lower()
            if len(name) >= shortest and name not in NOT_NAMES and not _parse(name):
                self.names.add(name)
                if "." in name:  # the short host name of an FQDN is identifying too
                    short = name.split(".", 1)[0]
                    if len(short) >= shortest and short not in NOT_NAMES:
                        self.names.add(short)

    def learn(self, text: str) -> None:
        for rx in (CIDR, JSON_PREFIX):
            for m in rx.finditer(text):
                self._learn_prefix(m.group(1), int(m.group(2)))
        for m in XML_PREFIX.finditer(text):
            length = m.group(3)
            if m.group(2) == "netmask":
                try:
                    self._learn_prefix(m.group(1), ipaddress.ip_network(f"0.0.0.0/{length}").prefixlen)
                except ValueError:
                    pass
            elif length.isdigit():
                self._learn_prefix(m.group(1), int(length))
        for rx in XML_NAMES:
            self.add_names(m.group(1) for m in rx.finditer(text))
        for rx in (IPV4, IPV6):
            for m in rx.finditer(text):
                if (addr := _parse(m.group(1))) is not None:
                    self.originals.add(str(addr))
        self.originals.update(m.group(1).lower() for m in MAC.finditer(text))

    def _learn_prefix(self, address: str, length: int) -> None:
        addr = _parse(address)
        if addr is not None and 0 < length <= addr.max_prefixlen:
            self.prefixes[addr.version].setdefault(length, set()).add(int(addr) >> (addr.max_prefixlen - length))

    def settle(self) -> None:
        """Draw keys until no original maps onto another original (call after learning).

        Where a bundle's addresses fill most of their range (thousands of /24s of one /8), some
        images must land on originals (pigeonhole): then the key with the fewest such
        coincidences after a few tries is kept, and `coincidences` says how many there are."""
        attempts = ATTEMPTS if len(self.originals) <= DENSE else 1
        best: tuple[int, bytes, set[str]] | None = None
        for attempt in range(attempts):
            coincident = self._coincident()
            hits = len(coincident)
            if best is None or hits < best[0]:
                best = (hits, self.key, coincident)
            if hits == 0 or attempt == attempts - 1:
                break
            self.key = secrets.token_bytes(32)
            self._memo.clear()
            self._bits.clear()
        if best is not None and best[1] != self.key:
            self.key = best[1]
            self._memo.clear()
            self._bits.clear()
        self.coincidences = best[0] if best else 0
        self.coincident = best[2] if best else set()
        self.addresses.clear()
        self.macs.clear()
        ordered = sorted(self.names, key=lambda n: (-len(n), n))
        self.name_map = {n: f"name-{i}.invalid" for i, n in enumerate(ordered, 1)}
        self._name_re = re.compile(r"(?<![A-Za-z0-9-])(" + "|".join(re.escape(n) for n in ordered) +
                                   r")(?![A-Za-z0-9-])", re.IGNORECASE) if ordered else None

    def _coincident(self) -> set[str]:
        """The originals some other original maps onto (kept ones, such as netmasks, excepted)."""
        images = set()
        for a in self.originals:
            image = self._map_address(a) if _parse(a) else self._map_mac(a)
            if image != a:
                images.add(image)
        return images & self.originals

    # -- applying -----------------------------------------------------------
    def apply(self, text: str) -> str:
        if not text:
            return text
        text = MAC.sub(lambda m: self._mac(m.group(1)), text)
        text = IPV6.sub(lambda m: self._address(m.group(1)), text)
        text = IPV4.sub(lambda m: self._address(m.group(1)), text)
        if self._name_re is not None:
            text = self._name_re.sub(lambda m: self.name_map[m.group(1).lower()], text)
        return text

    def _address(self, raw: str) -> str:
        addr = _parse(raw)
        if addr is None:
            return raw
        mapped = self._map_address(str(addr))
        if mapped != str(addr):
            self.addresses[str(addr)] = mapped
        return mapped if mapped != str(addr) else raw

    def _mac(self, raw: str) -> str:
        mapped = self._map_mac(raw.lower())
        if mapped == raw.lower():
            return raw
        self.macs[raw.lower()] = mapped
        return mapped.upper() if raw.isupper() else mapped

    def _map_address(self, text: str) -> str:
        cached = self._memo.get(text)
        if cached is None:
            cached = self._memo[text] = self._compute_address(text)
        return cached

    def _compute_address(self, text: str) -> str:
        addr = ipaddress.ip_address(text)
        bits = addr.max_prefixlen
        keep = _kept_prefix(addr)
        length = self._network_length(addr)
        if keep is None or length <= keep:
            return text
        value = int(addr)
        out = value
        for i in range(keep, length):
            bit = bits - 1 - i
            prefix = value >> (bit + 1)
            flip = 1 if i == keep else self._prf(addr.version, i, prefix)
            out ^= flip << bit
        return str(ipaddress.ip_address(out) if addr.version == 4 else ipaddress.IPv6Address(out))

    def _network_length(self, addr) -> int:
        value, bits = int(addr), addr.max_prefixlen
        for length in sorted(self.prefixes[addr.version], reverse=True):  # the longest named prefix wins
            if value >> (bits - length) in self.prefixes[addr.version][length]:
                return length
        return DEFAULT_PREFIX[addr.version]

    def _prf(self, version: int, i: int, prefix: int) -> int:
        cached = self._bits.get((version, i, prefix))
        if cached is None:  # addresses of one network share their prefixes' bits: compute each once
            digest = hmac.new(self.key, f"{version}/{i}/{prefix}".encode(), hashlib.sha256).digest()
            cached = self._bits[(version, i, prefix)] = digest[0] & 1
        return cached

    def _map_mac(self, mac: str) -> str:
        octets = [int(o, 16) for o in mac.split(":")]
        if octets[0] & 1 or all(o == 0 for o in octets):  # multicast/broadcast, or none at all
            return mac
        digest = hmac.new(self.key, mac.encode(), hashlib.sha256).digest()
        new = [(digest[0] & 0xFC) | (octets[0] & 0x03), *digest[1:6]]
        if new == octets:
            new[5] ^= 1
        return ":".join(f"{o:02x}" for o in new)

    def counts(self) -> dict[str, int]:
        return {"addresses": len(self.addresses), "macs": len(self.macs), "names": len(self.name_map),
                "coincidences": len(self.coincident)}

    def mapping(self) -> dict[str, dict[str, str] | list[str]]:
        return {"addresses": dict(sorted(self.addresses.items())), "macs": dict(sorted(self.macs.items())),
                "names": dict(sorted(self.name_map.items())), "coincidences": sorted(self.coincident)}


def _parse(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _kept_prefix(addr) -> int | None:
    """How many leading bits stay as they are; None: the address stays whole."""
    if addr.version == 4:
        if any(addr in n for n in KEEP_V4):
            return None
        return next((p for n, p in RANGES_V4 if addr in n), 8)
    if any(addr in n for n in KEEP_V6) or addr.ipv4_mapped is not None:
        return None
    return 16
