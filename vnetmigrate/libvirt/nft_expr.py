"""The few nftables expressions libvirt's rules use, rendered as nft text and as JSON.

Text follows libvirt's own argv token by token (so ``nft -f`` of our text is what libvirt's
``nft insert rule ...`` calls do), except that interface names are always quoted. JSON is
the libnftables schema (``Nftables().json_cmd``); both load to the same kernel rule, which
the lab tests check by listing the kernel's ruleset after loading each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from vnetmigrate.addr import network

_IFACE_KEYS = ("iif", "oif", "iifname", "oifname")


@dataclass(frozen=True)
class Payload:
    protocol: str  # "ip" / "ip6"
    field: str     # "saddr" / "daddr"

    def text(self) -> str:
        return f"{self.protocol} {self.field}"

    def json(self) -> dict[str, Any]:
        return {"payload": {"protocol": self.protocol, "field": self.field}}


@dataclass(frozen=True)
class Meta:
    key: str

    def text(self) -> str:
        # libvirt writes the interface keys bare ("iif virbr0") and others as "meta l4proto".
        return self.key if self.key in _IFACE_KEYS else f"meta {self.key}"

    def json(self) -> dict[str, Any]:
        return {"meta": {"key": self.key}}


@dataclass(frozen=True)
class Ct:
    key: str

    def text(self) -> str:
        return f"ct {self.key}"

    def json(self) -> dict[str, Any]:
        return {"ct": {"key": self.key}}


Left = Union[Payload, Meta, Ct]


@dataclass(frozen=True)
class Match:
    """``left [!=] right``; a tuple right side is a flag list (``ct state a,b``)."""

    left: Left
    right: str | tuple[str, ...]
    op: str = "=="

    def text(self) -> str:
        if isinstance(self.right, tuple):
            value = ",".join(self.right)
        elif isinstance(self.left, Meta) and self.left.key in _IFACE_KEYS:
            value = f'"{self.right}"'
        else:
            value = self.right
        neg = "!= " if self.op == "!=" else ""
        return f"{self.left.text()} {neg}{value}"

    def json(self) -> dict[str, Any]:
        if isinstance(self.right, tuple):
            return {"match": {"op": "in", "left": self.left.json(), "right": list(self.right)}}
        return {"match": {"op": self.op, "left": self.left.json(), "right": _json_value(self.right)}}


def _json_value(value: str) -> Any:
    if "/" in value:
        net = network(value)
        return {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}}
    return value


@dataclass(frozen=True)
class Counter:
    def text(self) -> str:
        return "counter"

    def json(self) -> dict[str, Any]:
        return {"counter": None}


@dataclass(frozen=True)
class Verdict:
    kind: str                  # accept, reject, return, jump
    target: str | None = None  # for jump

    def text(self) -> str:
        return f"jump {self.target}" if self.kind == "jump" else self.kind

    def json(self) -> dict[str, Any]:
        if self.kind == "jump":
            return {"jump": {"target": self.target}}
        return {self.kind: None}


PortRange = tuple[int, int]


@dataclass(frozen=True)
class Masquerade:
    ports: PortRange | None = None

    def text(self) -> str:
        return f"masquerade to :{self.ports[0]}-{self.ports[1]}" if self.ports else "masquerade"

    def json(self) -> dict[str, Any]:
        if not self.ports:
            return {"masquerade": None}
        return {"masquerade": {"port": {"range": list(self.ports)}}}


@dataclass(frozen=True)
class Snat:
    start: str
    end: str | None = None
    ports: PortRange | None = None

    def text(self) -> str:
        addr = f"{self.start}-{self.end}" if self.end else self.start
        port = f":{self.ports[0]}-{self.ports[1]}" if self.ports else ""
        return f"snat to {addr}{port}"

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"addr": {"range": [self.start, self.end]} if self.end else self.start}
        if self.ports:
            body["port"] = {"range": list(self.ports)}
        return {"snat": body}


Expr = Union[Match, Counter, Verdict, Masquerade, Snat]
