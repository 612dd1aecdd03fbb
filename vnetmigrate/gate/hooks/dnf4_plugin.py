"""vnetmigrate's pre-upgrade gate for dnf 4, written by `vnetmigrate gate install --dnf`.

When a resolved transaction changes the version of libvirt's network driver, ask
`vnetmigrate gate` whether the host survives the new libvirt, before anything is downloaded;
a refusal (any non-zero exit) stops the transaction. Policy: /etc/vnetmigrate/gate.conf.
"""

import subprocess

import dnf
import dnf.exceptions

VNETMIGRATE = "@VNETMIGRATE@"
# The packages of libvirt's network driver, the driver itself first (vnetmigrate/gate/packages.py).
WATCHED = ("libvirt-daemon-driver-network", "libvirt-daemon", "libvirt-daemon-common",
           "libvirt-daemon-system", "libvirt0", "libvirt-libs")


def libvirt_change(incoming, outgoing):
    """(installed, incoming, package) for the watched package whose version changes, or None.

    `incoming` and `outgoing`: (name, version) of the transaction's install and remove sets
    (an upgrade puts the new package in the first and the old one in the second). A first
    installation or a removal alone is not judged."""
    old = {}
    for name, version in outgoing:
        old.setdefault(name, version)
    for watched in WATCHED:
        for name, version in incoming:
            if name == watched and old.get(name) not in (None, version):
                return old[name], version, name
    return None


class VnetmigrateGate(dnf.Plugin):
    name = "vnetmigrate_gate"

    def resolved(self):
        tx = self.base.transaction
        if tx is None:
            return
        change = libvirt_change([(p.name, p.evr) for p in tx.install_set],
                                [(p.name, p.evr) for p in tx.remove_set])
        if change is None:
            return
        installed, new, package = change
        proc = subprocess.run([VNETMIGRATE, "gate", "--installed", installed, "--incoming", new,
                               "--package", package])
        if proc.returncode != 0:
            raise dnf.exceptions.Error(
                f"vnetmigrate gate refused the libvirt upgrade {installed} -> {new} (exit {proc.returncode}); "
                "see above, or `vnetmigrate scan` (policy: /etc/vnetmigrate/gate.conf)")
