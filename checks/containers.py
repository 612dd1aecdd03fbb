"""Container and cluster networking beside libvirt: Podman/netavark, kube-proxy, LXD, Incus."""

from __future__ import annotations

from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity

NOTES = {
    "podman": "netavark keeps its rules in its own table (or NETAVARK_* chains) and accepts only its "
              "own networks' traffic: it does not drop libvirt's, so it is compatible with both backends. "
              "Podman is the replacement for Docker that the Fedora 41 change suggests.",
    "kube-proxy": "kube-proxy's chains and tables handle service traffic; they do not drop libvirt's "
                  "traffic by themselves, but kubelet hosts often also run a restrictive FORWARD policy.",
    "lxd": "LXD's `inet lxd` table accepts its own bridges' traffic and does not drop libvirt's.",
    "incus": "Incus's `inet incus` table accepts its own bridges' traffic and does not drop libvirt's.",
}


@check("container-firewall", "Container networking that manages firewall rules", Severity.INFO,
       needs=("containers",))
def container_firewall(facts: HostFacts):
    for p in facts.containers:
        yield Finding(
            "container-firewall", Severity.INFO, f"{p.name} manages firewall rules ({p.userspace})",
            NOTES[p.name], evidence=tuple(Citation("fact", e) for e in p.evidence))
