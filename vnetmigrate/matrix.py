"""The compatibility matrix, and where a host sits in it now and after the switch.

Rows (Fedora 41 change "Libvirt Virtual Network NFTables"; docs/other-firewalls.md §8):

  # | kernel module | firewall mgmt userspace | libvirt backend | result
  1 | iptables      | iptables                | iptables        | works for all firewall mgmt tools
  2 | nftables      | iptables                | iptables        | works for all tools
  3 | nftables      | iptables                | nftables        | works for firewalld, others need a workaround
  4 | nftables      | nftables                | iptables        | works for firewalld, others need a workaround
  5 | nftables      | nftables                | nftables        | works for firewalld, others need a workaround
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.facts import HostFacts
from vnetmigrate.firewall import NFT_FAMILIES, Backend, Family

WORKS_ALL = "works for all firewall management tools"
NEEDS_WORKAROUND = "works for firewalld, other tools need a workaround"
ROWS = {
    1: (Backend.IPTABLES, Backend.IPTABLES, Backend.IPTABLES, WORKS_ALL),
    2: (Backend.NFTABLES, Backend.IPTABLES, Backend.IPTABLES, WORKS_ALL),
    3: (Backend.NFTABLES, Backend.IPTABLES, Backend.NFTABLES, NEEDS_WORKAROUND),
    4: (Backend.NFTABLES, Backend.NFTABLES, Backend.IPTABLES, NEEDS_WORKAROUND),
    5: (Backend.NFTABLES, Backend.NFTABLES, Backend.NFTABLES, NEEDS_WORKAROUND),
}


@dataclass(frozen=True)
class Coordinate:
    """One axis of the compatibility matrix, and why."""
    value: Backend | None
    reason: str


@dataclass(frozen=True)
class ToolResult:
    """How one tool fares at a placement of the matrix."""
    tool: str
    userspace: Backend
    row: int | None
    result: str  # "works", "works for firewalld" or "needs workaround: ..."


@dataclass(frozen=True)
class Placement:
    """Where the host sits in the compatibility matrix."""
    row: int | None
    kernel: Coordinate
    userspace: Coordinate
    backend: Coordinate
    result: str | None
    note: str = ""
    tools: tuple[ToolResult, ...] = ()

    def to_dict(self) -> dict:
        return {"row": self.row, "result": self.result, "note": self.note,
                **{k: {"value": getattr(self, k).value, "reason": getattr(self, k).reason}
                   for k in ("kernel", "userspace", "backend")},
                "tools": [{"tool": t.tool, "userspace": t.userspace, "row": t.row, "result": t.result}
                          for t in self.tools]}


@dataclass(frozen=True)
class MatrixPlacement:
    """The host's placement now and after the migration."""
    now: Placement
    after: Placement


def row_for(kernel: Backend | None, userspace: Backend | None, backend: Backend | None) -> int | None:
    for number, (k, u, b, _) in ROWS.items():
        if (k, u, b) == (kernel, userspace, backend):
            return number
    return None


def _kernel(facts: HostFacts) -> Coordinate:
    sysf = facts.system
    if sysf is None:
        return Coordinate(None, "system facts are missing")
    if sysf.iptables_variant == "legacy":
        return Coordinate(Backend.IPTABLES, f"`{sysf.variant_source}` reports the legacy variant: rules go to x_tables")
    if sysf.iptables_variant == "nf_tables":
        legacy = " (legacy x_tables are also in use: " + ", ".join(
            f"{f}: {' '.join(t)}" for f, t in sysf.legacy_tables.items() if t) + ")" if sysf.legacy_in_use else ""
        return Coordinate(Backend.NFTABLES, f"`{sysf.variant_source}` reports nf_tables" + legacy)
    if sysf.legacy_in_use:
        return Coordinate(Backend.IPTABLES, "legacy x_tables are in use (/proc/net/ip_tables_names)")
    return Coordinate(Backend.NFTABLES, "iptables is not installed; only nftables can be in use")


def firewall_managers(facts: HostFacts) -> list[tuple[str, Backend]]:
    """(tool, userspace) for each firewall management tool detected."""
    tools = []
    docker = facts.docker
    if docker is not None and docker.present and docker.setting("iptables", True):
        tools.append(("docker", Backend.NFTABLES if docker.setting("firewall-backend", "iptables") == "nftables"
                      else Backend.IPTABLES))
    if facts.ufw is not None and facts.ufw.active:
        tools.append(("ufw", Backend.IPTABLES))
    fw = facts.firewalld
    if fw is not None and fw.running:
        tools.append(("firewalld", Backend.IPTABLES if fw.backend.lower() == "iptables" else Backend.NFTABLES))
    if facts.nftables_service is not None and facts.nftables_service.in_use:
        tools.append(("nftables.service", Backend.NFTABLES))
    for m in facts.persist or ():
        if m.enabled:
            tools.append((m.name, Backend.IPTABLES))
    for p in facts.containers or ():
        tools.append((p.name, p.userspace))
    return tools


def _userspace(facts: HostFacts) -> Coordinate:
    managers = firewall_managers(facts)
    if managers:
        kinds = sorted({u for _, u in managers})
        value = Backend.IPTABLES if Backend.IPTABLES in kinds else Backend.NFTABLES
        return Coordinate(value, "firewall management: " + ", ".join(f"{t} ({u})" for t, u in managers))
    if facts.nft is not None:
        native = sorted({f"{c.family} {c.table}" for c in facts.nft.chains() if c.is_base
                         and c.table != "libvirt_network" and (facts.iptables is None or not _ipt_managed(facts, c))})
        if native:
            return Coordinate(Backend.NFTABLES, "no firewall management tool detected; native nftables tables "
                                          "with base chains: " + ", ".join(native))
    if facts.system is not None and facts.system.has("iptables"):
        return Coordinate(Backend.IPTABLES,
                          "no firewall management tool detected; the host's own rules use iptables")
    return Coordinate(Backend.NFTABLES, "no firewall management tool detected and iptables is not installed")


def _ipt_managed(facts: HostFacts, chain) -> bool:
    family = Family.of_nft(chain.family) if chain.family in NFT_FAMILIES else None
    save = facts.iptables.get(family, "nft") if family else None
    return save is not None and save.table(chain.table) is not None


def _tool_result(tool: str, userspace: Backend, kernel: Backend | None, backend: Backend | None,
                 findings) -> ToolResult:
    row = row_for(kernel, userspace, backend)
    if row in (1, 2):
        return ToolResult(tool, userspace, row, "works")
    from vnetmigrate.checks import tool_findings  # which findings mean "this tool needs a workaround"

    ids = tool_findings().get(tool, ())
    hits = [f for f in findings if f.id in ids and f.severity.rank >= 1]
    if hits:
        return ToolResult(tool, userspace, row, "needs workaround: " + "; ".join(
            f"{f.id} ({f.workarounds[0].hint})" if f.workarounds else f.id for f in hits))
    if tool == "firewalld":
        return ToolResult(tool, userspace, row, "works for firewalld")
    if row is None or backend is None:
        return ToolResult(tool, userspace, row, "works")
    return ToolResult(tool, userspace, row, "works: nothing of it was found to drop libvirt's traffic")


def _place(kernel: Coordinate, userspace: Coordinate, backend: Coordinate, tools=(), findings=()) -> Placement:
    row = row_for(kernel.value, userspace.value, backend.value)
    note = ""
    if row is None:
        note = "not a row of the compatibility matrix"
        if kernel.value == Backend.IPTABLES and backend.value == Backend.NFTABLES:
            note += ": libvirt's nftables rules beside legacy x_tables rules; both sets are evaluated"
    results = tuple(_tool_result(t, u, kernel.value, backend.value, findings) for t, u in tools)
    return Placement(row, kernel, userspace, backend, ROWS[row][3] if row else None, note, results)


def classify(facts: HostFacts, findings=()) -> MatrixPlacement:
    kernel, userspace = _kernel(facts), _userspace(facts)
    tools = firewall_managers(facts)
    lv = facts.libvirt
    if lv is None or not lv.installed:
        why = "libvirt facts are missing" if lv is None else "libvirt is not installed"
        none = Coordinate(None, why)
        return MatrixPlacement(_place(kernel, userspace, none, tools), _place(kernel, userspace, none, tools))
    now = Coordinate(lv.effective.backend, lv.effective.reason)
    after = Coordinate(lv.after_upgrade.backend, lv.after_upgrade.reason)
    after_kernel = kernel
    if kernel.value == Backend.IPTABLES and after.value == Backend.NFTABLES:
        after_kernel = Coordinate(Backend.NFTABLES, "libvirt's nftables backend uses the nftables kernel module")
    # A tool's findings are attributed to every row it is in that needs workarounds (3 to 5):
    # rows 1 and 2 work by the matrix whatever was found.
    return MatrixPlacement(_place(kernel, userspace, now, tools, findings),
                           _place(after_kernel, userspace, after, tools, findings))
