"""What libvirt creates for its virtual networks, exactly: parse network XML, build the rules.

Public API (stable; other parts of vnetmigrate call only these names)::

    parse_network(text, source) -> Network          <network> definition (or a status file)
    parse_status(text, source)  -> NetworkStatus    /run/libvirt/network/NAME.xml, with .removal
    validate_ifname(name) -> name                   raises InvalidName (a ValueError)

    nft_commands(networks, version, state=None, failed=()) -> [{"add"|"insert": {...}}, ...]
        libnftables JSON: Nftables().json_cmd({"nftables": nft_commands(...)})
    nft_text(networks, version, state=None, failed=()) -> str   the same, as `nft -f` input
    iptables_restore(networks, version, family, state=None, failed=()) -> str
        family "ipv4"/"ipv6"; for `iptables-restore --noflush` / `ip6tables-restore --noflush`
    tc_commands(networks, version, root_qdisc_present=(), failed=()) -> [argv without "tc"]
    tc_removal(networks, version) -> [argv, ...]

    expected_removals(networks, version, backend) -> {name: RemovalRecipe}   (removal_model.py)
    match_removal(recipe, iptables_save=, nft_json=, tc_filters=) -> [RecipeMatch]
    expected_iptables / expected_nft / nft_listing_text(networks, version)   (listing.py)
        what the kernel lists afterwards, chain by chain
    classify(active, version, iptables=, nft=, known=) -> Ownership          (ownership.py)
        (a scanned host's ownership is a fact made once per run: vnetmigrate.facts.ownership)

    Backend                  enum: Backend.IPTABLES, Backend.NFTABLES
    SUPPORTED_VERSIONS       ("9.0", "11.3"); get_version("11.3.0") -> LibvirtVersion

`networks` is a list of Network in the order libvirt started them (the last started is
listed first by the kernel, because libvirt inserts at the head of each chain). Networks
whose forward mode gets no rules (open, bridge, private, vepa, passthrough, hostdev) are
skipped. `failed` names networks of the list whose start failed: they get no rules, but may
still have made libvirt create its private chains/tables (rules_common.failed_after_setup).
`state` describes what of libvirt's tables/chains already exists (NftState.from_json,
IptablesState.from_save); by default nothing does, as on a freshly booted host. Anything
libvirt would refuse (a bad port range, a network without a bridge name, an unsafe
interface name) raises vnetmigrate.errors.InputError.

Every rule shape and order here is taken from libvirt's source and checked against listings
recorded from real libvirt (tests/data/libvirt/; how, and the facts learned:
tests/data/model/README.md). Versions live in versions.py, which says how to add one.
"""

from vnetmigrate.libvirt.fwremoval import RemovalAction, RemovalGroup, RemovalRecipe
from vnetmigrate.libvirt.iptables_restore import IptablesState, iptables_restore
from vnetmigrate.libvirt.model import DhcpHost, DhcpRange, ForwardMode, IPDef, Nat, Network, NetworkStatus
from vnetmigrate.libvirt.names import InvalidName, is_valid_ifname, validate_ifname
from vnetmigrate.libvirt.nft_commands import NftState, nft_commands, nft_text
from vnetmigrate.libvirt.versions import (DEFAULT_VERSION, SUPPORTED_VERSIONS, Backend, LibvirtVersion,
                                          get_version)
from vnetmigrate.libvirt.xml import parse_network, parse_status

__all__ = [
    "Backend", "DEFAULT_VERSION", "DhcpHost", "DhcpRange", "ForwardMode", "IPDef", "InvalidName",
    "IptablesState", "LibvirtVersion", "Nat", "Network", "NetworkStatus", "NftState", "RecipeMatch",
    "RemovalAction", "RemovalGroup", "RemovalRecipe", "SUPPORTED_VERSIONS", "get_version",
    "expected_removals", "iptables_restore", "is_valid_ifname", "match_removal", "nft_commands", "nft_text",
    "parse_network", "parse_status", "tc_commands", "tc_removal", "validate_ifname",
]

# Imported on first use (PEP 562): scan, plan and migrate never call them, and the recipe
# matcher alone took a few ms of every command's start-up.
_LAZY = {"RecipeMatch": "recipe", "match_removal": "recipe", "expected_removals": "removal_model",
         "tc_commands": "tc", "tc_removal": "tc"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
