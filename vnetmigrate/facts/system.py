"""Facts about the host itself: distribution, tools, forwarding, x_tables in use."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import field

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import IP_FORWARD, IPTABLES_VERSION, IPV6_FORWARDING, OS_RELEASE, TABLES_NAMES, TOOLS


@dataclass(frozen=True)
class OsRelease:
    """What os-release says."""
    id: str | None = None
    version_id: str | None = None
    id_like: tuple[str, ...] = ()
    pretty_name: str | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return ((self.id,) if self.id else ()) + self.id_like


@dataclass(frozen=True)
class SystemFacts:
    """The distribution, the tools found, the iptables variant and forwarding."""
    os: OsRelease
    tools: dict[str, str | None] = field(default_factory=dict)
    iptables_variant: str | None = None  # "nf_tables", "legacy" or None (no iptables)
    ip_forward: bool | None = None
    ipv6_forwarding: bool | None = None
    legacy_tables: dict[str, tuple[str, ...]] = field(default_factory=dict)  # family -> names
    nft_via: str | None = None  # "libnftables" or "exec" (the nft binary's JSON)
    variant_source: str = "iptables -V"  # what told iptables_variant (a sos report: nft's listing)

    def has(self, tool: str) -> bool:
        return bool(self.tools.get(tool))

    @property
    def legacy_in_use(self) -> bool:
        return any(self.legacy_tables.values())


def parse_os_release(text: str | None) -> OsRelease:
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:
            words = [raw.strip("\"'")]
        values[key.strip()] = words[0] if words else ""
    return OsRelease(id=values.get("ID"), version_id=values.get("VERSION_ID"),
                     id_like=tuple(values.get("ID_LIKE", "").split()), pretty_name=values.get("PRETTY_NAME"))


def _flag(text: str | None) -> bool | None:
    if text is None:
        return None
    text = text.strip()
    return None if text not in ("0", "1") else text == "1"


def build(ev: Evidence) -> SystemFacts:
    tools_rec = ev.command(TOOLS)
    tools = json.loads(tools_rec.stdout) if tools_rec and tools_rec.ok else {}
    if not isinstance(tools, dict) or not all(isinstance(v, (str, type(None))) for v in tools.values()):
        raise InputError("the list of installed tools is malformed (expected an object of paths)")
    variant, source = None, "iptables -V"
    rec = ev.command(IPTABLES_VERSION)
    if rec and rec.ok:
        m = re.search(r"\((nf_tables|legacy)\)", rec.stdout)
        variant = m.group(1) if m else "legacy"  # iptables < 1.8 prints no variant: legacy
        source = rec.display
    legacy = {}
    for family, path in TABLES_NAMES.items():
        text = ev.text(path)
        legacy[family] = tuple(sorted(n.strip() for n in (text or "").splitlines() if n.strip()))
    return SystemFacts(
        os=parse_os_release(ev.text(OS_RELEASE)), tools=tools, iptables_variant=variant,
        ip_forward=_flag(ev.text(IP_FORWARD)),
        ipv6_forwarding=_flag(ev.text(IPV6_FORWARDING)),
        legacy_tables=legacy, nft_via=ev.meta.get("nft_via"), variant_source=source)
