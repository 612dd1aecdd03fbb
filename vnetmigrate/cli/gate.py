"""`vnetmigrate gate`: judge a pending libvirt upgrade before the package manager installs it;
`gate install|remove --apt|--dnf` put the hooks that call it in front of apt and dnf."""

from __future__ import annotations

import os
import shutil
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import JsonOpt, NetnsOpt, RootOpt, guarded, require_root, write_output


class GateAction(str, Enum):
    check = "check"
    install = "install"
    remove = "remove"


class GateFormat(str, Enum):
    text = "text"
    json = "json"


@guarded("gate")
def gate(
    action: Annotated[GateAction, typer.Argument(
        metavar="ACTION", show_default=False, help="check (the default): judge the pending upgrade; install or remove: the package manager's hooks "
             "(with --apt and/or --dnf).")] = GateAction.check,
    incoming: Annotated[Optional[str], typer.Option(
        "--incoming", metavar="VERSION", help="The libvirt version about to be installed (a package version such "
                                              "as 12.9.0-1~bpo13+1, or a release such as 12.9).")] = None,
    installed: Annotated[Optional[str], typer.Option(
        "--installed", metavar="VERSION", help="The libvirt version installed now (default: the version read on "
                                               "the host).")] = None,
    package: Annotated[Optional[str], typer.Option(
        "--package", metavar="NAME", help="The package that brings the change (shown in the report).")] = None,
    apt_hook: Annotated[bool, typer.Option(
        "--apt-hook", help="Read the pending change from apt (a DPkg::Pre-Install-Pkgs hook, protocol version 3, "
                           "on standard input); judge only when a libvirt network-driver package changes "
                           "version.")] = False,
    dnf5_action: Annotated[Optional[str], typer.Option(
        "--dnf5-action", metavar="ACTION", help="Called by dnf5's actions plugin with the package's action "
                                                "(U upgrade and D downgrade are judged); output in that plugin's "
                                                "protocol.")] = None,
    apt: Annotated[bool, typer.Option("--apt", help="install/remove: apt's hook.")] = False,
    dnf: Annotated[bool, typer.Option("--dnf", help="install/remove: dnf5's actions file and dnf 4's plugin.")] = False,
    root: RootOpt = Path("/"),
    netns: NetnsOpt = None,
    config: Annotated[Optional[Path], typer.Option(
        "--config", metavar="FILE", help="The policy file (default: /etc/vnetmigrate/gate.conf under --root): "
                                         "policy = block, warn or off.")] = None,
    format: Annotated[GateFormat, typer.Option("--format", "-f", help="Output format: text or json.")]
    = GateFormat.text,
    as_json: JsonOpt = False,
) -> int:
    """Judge a pending libvirt upgrade for this host (run by apt's and dnf's hooks); exits 4 when it refuses."""
    from vnetmigrate.errors import InputError

    if not root.is_dir():
        raise InputError(f"--root {root}: not a directory")
    if action != GateAction.check:
        if not (apt or dnf):
            raise InputError(f"gate {action.value}: say which package manager: --apt, --dnf or both")
        if incoming or installed or package or apt_hook or dnf5_action or config or netns:
            raise InputError(f"gate {action.value} takes only --apt, --dnf, --root and --format")
        return _install(action, root, apt, dnf, format)
    if apt or dnf:
        raise InputError("--apt and --dnf choose the hooks of `gate install|remove`; `gate` itself takes --incoming "
                         "or --apt-hook")
    return _check(root, netns, incoming, installed, package, apt_hook, dnf5_action, config, format)


def _check(root: Path, netns, incoming, installed, package, apt_hook: bool, dnf5_action, config, format) -> int:
    from vnetmigrate.errors import InputError
    from vnetmigrate.reports import gate as shown
    from vnetmigrate.usecases.gate import Request, gate as judge, policy_of

    packages: tuple[str, ...] = (package,) if package else ()
    if apt_hook:
        if incoming or installed or dnf5_action:
            raise InputError("--apt-hook reads the versions from apt: no --incoming, --installed or --dnf5-action")
        from vnetmigrate.gate.apt import parse_hook_input
        from vnetmigrate.gate.packages import libvirt_change

        change = libvirt_change(parse_hook_input(_apt_input()))
        if change is None:
            return 0  # no libvirt network driver changes version: nothing to judge, nothing to say
        installed, incoming, packages = change.installed, change.incoming, change.packages
    elif dnf5_action is not None and dnf5_action not in ("U", "D"):
        return 0  # I (first install), R (reinstall), E, O: no libvirt that runs networks changes version
    if incoming is None:
        raise InputError("--incoming VERSION is missing: the libvirt version about to be installed",
                         hint="package managers call the gate through their hooks: vnetmigrate gate install --apt")
    req = Request(root=root, netns=netns, incoming=incoming, installed=installed, packages=packages, config=config)
    if policy_of(req).policy != "off":
        require_root("gate", hint="the package manager runs it as root")
    result = judge(req)
    if dnf5_action is not None:
        text = shown.to_json(result) if format == GateFormat.json else shown.to_dnf5(result)
    else:
        text = shown.to_json(result) if format == GateFormat.json else shown.to_text(result)
    write_output(text, None)
    return int(result.exit_code)


def _apt_input() -> str:
    """apt writes to the descriptor APT_HOOK_INFO_FD names (standard input unless InfoFD is set)."""
    fd = os.environ.get("APT_HOOK_INFO_FD", "0")
    stream = sys.stdin if fd == "0" else open(int(fd), encoding="utf-8", errors="replace", closefd=False)
    return stream.read(16 * 1024 * 1024)


def _install(action: GateAction, root: Path, apt: bool, dnf: bool, format) -> int:
    from vnetmigrate.gate import install as hooks
    from vnetmigrate.reports import gate as shown

    if action == GateAction.install:
        result = hooks.install(root, apt=apt, dnf=dnf, command=_own_path(root))
    else:
        result = hooks.remove(root, apt=apt, dnf=dnf)
    write_output(shown.install_to_json(result) if format == GateFormat.json else shown.install_to_text(result), None)
    return 0


def _own_path(root: Path) -> str:
    """The vnetmigrate the hooks run: the packaged one when the root has it, else this one."""
    if (root / "usr/bin/vnetmigrate").is_file():
        return "/usr/bin/vnetmigrate"
    argv0 = sys.argv[0]
    if os.path.basename(argv0) == "vnetmigrate" and os.path.isabs(argv0):
        return argv0
    found = shutil.which("vnetmigrate")
    return os.path.abspath(found) if found else "/usr/bin/vnetmigrate"
