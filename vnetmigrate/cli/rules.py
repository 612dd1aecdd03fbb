"""`vnetmigrate rules`: the firewall rules libvirt creates for given network XML, per backend."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import JsonOpt, OutputOpt, guarded, write_output
from vnetmigrate.firewall import Backend, Family


class RulesFormat(str, Enum):
    nft = "nft"
    json = "json"
    iptables_restore = "iptables-restore"


@guarded("rules")
def rules(
    files: Annotated[list[Path], typer.Argument(
        metavar="NETWORK.xml", help="Network definitions or status files, in the order the networks start.")],
    backend: Annotated[Backend, typer.Option("--backend", "-b", help="libvirt's firewall backend.")]
    = Backend.NFTABLES,
    libvirt_version: Annotated[Optional[str], typer.Option(
        "--libvirt-version", metavar="V", help="The libvirt release to model, any from 9.0 on (default: 11.3).")] = None,
    format: Annotated[Optional[RulesFormat], typer.Option(
        "--format", "-f", help="nft, iptables-restore (the backend's default) or json.")] = None,
    as_json: JsonOpt = False,
    family: Annotated[Optional[Family], typer.Option(
        "--family", help="With iptables-restore: print only this family's fragment, ready to load.")] = None,
    output: OutputOpt = None,
) -> int:
    """Print the rules libvirt creates for the given networks on a fresh host."""
    from vnetmigrate.errors import InputError
    from vnetmigrate.exitcodes import ExitCode
    from vnetmigrate.libvirt import DEFAULT_VERSION, get_version, parse_network
    from vnetmigrate.libvirt.versions import modelled_notice

    release = (libvirt_version or DEFAULT_VERSION).strip()
    version = get_version(release, backend.value)
    notice = modelled_notice(release)
    fmt = format or (RulesFormat.nft if backend is Backend.NFTABLES else RulesFormat.iptables_restore)
    if fmt is RulesFormat.nft and backend is not Backend.NFTABLES:
        raise InputError("--format nft needs --backend nftables")
    if fmt is RulesFormat.iptables_restore and backend is not Backend.IPTABLES:
        raise InputError("--format iptables-restore needs --backend iptables")
    if family is not None and fmt is not RulesFormat.iptables_restore:
        raise InputError("--family goes with --format iptables-restore")
    networks = [parse_network(_read(path), str(path)) for path in files]
    _distinct(networks)
    if fmt is RulesFormat.json:
        text = _json(networks, version, backend, release, notice)
    elif fmt is RulesFormat.nft:
        text = _nft(networks, version, release, notice)
    else:
        text = _restore(networks, version, family.value if family else None, release, notice)
    write_output(text, output)
    return int(ExitCode.OK)


def _read(path: Path) -> str:
    from vnetmigrate import bounded
    from vnetmigrate.errors import InputError

    try:
        return bounded.read_text(path, bounded.CONFIG_LIMIT)
    except bounded.Unreadable as exc:
        raise InputError(f"cannot read {exc.message}" if exc.errno else exc.message)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}")


def _distinct(networks) -> None:
    """libvirt refuses a second network with the same name or bridge: so does `rules`."""
    from vnetmigrate.errors import InputError

    for attr, what in (("name", "name"), ("bridge", "bridge")):
        seen: dict[str, str] = {}
        for n in networks:
            value = getattr(n, attr)
            if value is None:
                continue
            if value in seen:
                raise InputError(f"{n.source}: network {n.name!r} uses the {what} {value!r} of {seen[value]} "
                                 "(libvirt would refuse to start it)")
            seen[value] = n.source


def _header(networks, version, backend: Backend, release: str, notice: str | None) -> list[str]:
    with_rules = [n.name for n in networks if n.has_firewall]
    without = [f"{n.name} ({n.forward_mode.value})" for n in networks if not n.has_firewall]
    lines = [f"# libvirt {release.lstrip('v')}, {backend} backend, on a fresh host; networks in start order: "
             + (", ".join(with_rules) or "none with rules")]
    if notice:
        lines.append(f"# {notice}")
    if without:
        lines.append("# no rules for: " + ", ".join(without))
    return lines


def _nft(networks, version, release: str, notice: str | None) -> str:
    from vnetmigrate.libvirt import nft_text, tc_commands

    lines = _header(networks, version, Backend.NFTABLES, release, notice)
    lines.append("# load with `nft -f FILE` once the bridges exist (rules match them by interface index)")
    tc = tc_commands(networks, version)
    if tc:
        lines.append("# libvirt also runs, before each network's rules:")
        lines += [f"#   tc {' '.join(argv)}" for argv in tc]
    return "\n".join(lines) + "\n" + nft_text(networks, version)


def _restore(networks, version, family: str | None, release: str, notice: str | None) -> str:
    from vnetmigrate.libvirt import iptables_restore

    out = _header(networks, version, Backend.IPTABLES, release, notice)
    for fam in Family:
        if family not in (None, fam):
            continue
        out.append(f"# {fam}: load with `{fam.iptables}-restore --noflush FILE`")
        out.append(iptables_restore(networks, version, fam).rstrip("\n"))
    return "\n".join(line for line in out if line) + "\n"


def _json(networks, version, backend: Backend, release: str, notice: str | None) -> str:
    from vnetmigrate.libvirt import iptables_restore, nft_commands, tc_commands
    from vnetmigrate.reports.envelope import dumps, envelope

    # libvirt_version: the registered behaviour the rules come from; libvirt_release: the
    # release asked for; modelled_as: why they differ, when the model is not exact for it.
    data: dict = {"libvirt_version": version.version, "libvirt_release": release.lstrip("v"),
                  "modelled_as": notice, "backend": backend,
                  "networks": [{"name": n.name, "bridge": n.bridge, "forward_mode": n.forward_mode.value,
                                "rules": n.has_firewall} for n in networks]}
    if backend is Backend.NFTABLES:
        data["nftables"] = {"nftables": nft_commands(networks, version)}
        data["tc"] = [list(argv) for argv in tc_commands(networks, version)]
    else:
        data["iptables_restore"] = {fam.value: iptables_restore(networks, version, fam) for fam in Family}
    return dumps(envelope("rules", "ok", 0, data))
