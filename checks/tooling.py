"""How vnetmigrate itself read the host: say so when it had to fall back."""

from __future__ import annotations

from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround


@check("nft-binding-missing", "python3-nftables is missing: nftables read through `nft -j`",
       Severity.INFO, needs=("system",))
def nft_binding_missing(facts: HostFacts):
    if facts.system.nft_via == "exec":
        yield Finding(
            "nft-binding-missing", Severity.INFO,
            "python3-nftables is missing: nftables was read through the `nft -j` binary",
            "The results are the same; reading is slower and changes (migrate) cannot use one "
            "libnftables transaction per step.",
            evidence=(Citation("fact", "import nftables", "ImportError"),),
            workarounds=(Workaround("Install the libnftables binding from the OS",
                                    ("apt-get install python3-nftables   # Debian/Ubuntu",
                                     "dnf install python3-nftables       # Fedora/RHEL")),))
