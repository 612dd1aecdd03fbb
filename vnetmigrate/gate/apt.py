"""What apt tells a `DPkg::Pre-Install-Pkgs` hook, in version 3 of the protocol (apt.conf(5)).

    VERSION 3
    APT::Architecture=amd64          <- apt's configuration, one key=value per line,
    ...                                 %-encoded, ended by an empty line
                                     <- then one line per package action:
    libvirt0 11.3.0-3+deb13u3 amd64 same < 12.9.0-1~bpo13+1 amd64 same /var/cache/apt/archives/libvirt0_...deb
    NAME OLD-VERSION OLD-ARCH OLD-MULTIARCH DIRECTION NEW-VERSION NEW-ARCH NEW-MULTIARCH ACTION

A version is "-" when there is none (a first installation, a removal); ACTION is a .deb file
name, **CONFIGURE** or **REMOVE**. Version 2 lacks the architecture and multiarch fields; a
hook configured for version 3 on an apt that cannot send it receives the highest version that
apt supports, so both are read. tests/data/apt/ has what apt 3.0 (Debian 13) sent.
"""

from __future__ import annotations

from vnetmigrate.errors import InputError
from vnetmigrate.gate.packages import PackageChange

_FIELDS = {2: 5, 3: 9}  # protocol version -> fields of a package action line


def parse_hook_input(text: str) -> list[PackageChange]:
    """The package actions of a Pre-Install-Pkgs hook's input (protocol 2 or 3)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("VERSION "):
        raise InputError("apt hook input does not start with a VERSION line: configure the hook with "
                         "DPkg::Tools::Options::<command>::Version \"3\"")
    try:
        version = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise InputError(f"apt hook input: unreadable protocol line {lines[0]!r}") from None
    if version not in _FIELDS:
        raise InputError(f"apt hook input: protocol version {version} (this gate reads versions 2 and 3)")
    try:
        end = lines.index("", 1)  # the configuration dump ends with an empty line
    except ValueError:
        raise InputError("apt hook input: the configuration section has no end (no empty line)") from None
    changes = []
    for number, line in enumerate(lines[end + 1:], end + 2):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != _FIELDS[version]:
            raise InputError(f"apt hook input line {number}: expected {_FIELDS[version]} fields "
                             f"(protocol {version}), got {len(fields)}")
        name, old = fields[0], fields[1]
        new = fields[5] if version == 3 else fields[3]
        action = fields[-1]
        changes.append(PackageChange(name=name, old=None if old == "-" else old,
                                     new=None if new == "-" or action == "**REMOVE**" else new))
    return changes
