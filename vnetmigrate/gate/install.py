"""`vnetmigrate gate install|remove --apt|--dnf`: the hook files that put the gate in front of
the package manager, written from the templates in hooks/ with this vnetmigrate's path.

Idempotent both ways: a file already as it should be is left alone ("unchanged"), a file that
is not there is not an error ("absent"). Only files whose first line is the gate's own marker
are removed, so an admin's file of the same name is never deleted.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError

MARKER = "vnetmigrate's pre-upgrade gate"


@dataclass(frozen=True)
class HookFile:
    """A package manager's hook file and the template it is written from."""
    manager: str    # apt, dnf5, dnf4
    path: str       # relative to the root
    template: str   # in vnetmigrate/gate/hooks/


APT = (HookFile("apt", "etc/apt/apt.conf.d/80vnetmigrate-gate", "apt.conf"),)
DNF5 = HookFile("dnf5", "etc/dnf/libdnf5-plugins/actions.d/vnetmigrate-gate.actions", "dnf5.actions")
DNF4_CONF = HookFile("dnf4", "etc/dnf/plugins/vnetmigrate_gate.conf", "dnf4.conf")
DNF4_PLUGIN = "vnetmigrate_gate.py"
# dnf 4 loads plugins from its Python's site-packages/dnf-plugins (pluginpath); Fedora and RHEL
# put that under /usr/lib (noarch), one directory per Python version.
DNF4_PLUGIN_DIRS = "usr/lib/python3*/site-packages/dnf-plugins"


@dataclass(frozen=True)
class FileChange:
    """What installing or removing the hooks did to one file."""
    path: str       # as seen on the host (under the root)
    manager: str
    change: str     # written, unchanged, removed, absent


@dataclass(frozen=True)
class InstallResult:
    """`gate install` / `gate remove`: the files changed and notes."""
    action: str     # install, remove
    root: str
    files: tuple[FileChange, ...]
    notes: tuple[str, ...]


def _files(root: Path, apt: bool, dnf: bool) -> list[HookFile]:
    files: list[HookFile] = list(APT) if apt else []
    if dnf:
        files += [DNF5, DNF4_CONF]
        files += [HookFile("dnf4", f"{d.relative_to(root)}/{DNF4_PLUGIN}", "dnf4_plugin.py")
                  for d in sorted(root.glob(DNF4_PLUGIN_DIRS)) if d.is_dir()]
    return files


def _content(template: str, command: str) -> str:
    text = resources.files("vnetmigrate.gate").joinpath("hooks", template).read_text("utf-8")
    return text.replace("@VNETMIGRATE@", command)


def _shown(root: Path, rel: str) -> str:
    return "/" + rel if root == Path("/") else str(root / rel)


def install(root: Path, *, apt: bool, dnf: bool, command: str) -> InstallResult:
    """Write the hook files for apt and/or dnf under `root`; `command` is vnetmigrate's path there."""
    if " " in command or not command.startswith("/"):
        raise InputError(f"the hooks need vnetmigrate's absolute path without spaces, not {command!r}")
    notes = []
    if apt and not (root / "etc/apt").is_dir():
        raise InputError(f"apt is not installed under {root} (no {_shown(root, 'etc/apt')})")
    if dnf and not (root / "etc/dnf").is_dir():
        raise InputError(f"dnf is not installed under {root} (no {_shown(root, 'etc/dnf')})")
    if dnf and not (root / "etc/dnf/libdnf5-plugins/actions.conf").exists():
        notes.append("dnf5: libdnf5-plugin-actions is not installed; dnf5 runs the actions file once it is")
    if dnf and not any(d.is_dir() for d in root.glob(DNF4_PLUGIN_DIRS)):
        notes.append("dnf 4: no dnf-plugins directory (python3-dnf is not installed): no dnf 4 plugin written")
    changes = []
    for hook in _files(root, apt, dnf):
        target = root / hook.path
        wanted = _content(hook.template, command)
        try:
            if target.is_file() and target.read_text("utf-8") == wanted:
                changes.append(FileChange(_shown(root, hook.path), hook.manager, "unchanged"))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(f".{target.name}.vnetmigrate-new")
            staging.write_text(wanted, encoding="utf-8")
            os.chmod(staging, 0o644)
            os.replace(staging, target)
        except OSError as exc:
            raise InputError(f"cannot write {_shown(root, hook.path)}: {exc.strerror or exc}") from None
        changes.append(FileChange(_shown(root, hook.path), hook.manager, "written"))
    return InstallResult("install", str(root), tuple(changes), tuple(notes))


def remove(root: Path, *, apt: bool, dnf: bool) -> InstallResult:
    """Remove the gate's hook files for apt and/or dnf under `root` (only files it wrote)."""
    changes, notes = [], []
    for hook in _files(root, apt, dnf):
        target, shown = root / hook.path, _shown(root, hook.path)
        try:
            head = target.read_text("utf-8")[:200] if target.is_file() else None
        except (OSError, UnicodeDecodeError):
            head = ""
        if head is None:
            changes.append(FileChange(shown, hook.manager, "absent"))
            continue
        if MARKER not in head:
            notes.append(f"{shown} was not written by vnetmigrate: left in place")
            changes.append(FileChange(shown, hook.manager, "unchanged"))
            continue
        try:
            target.unlink()
        except OSError as exc:
            raise InputError(f"cannot remove {shown}: {exc.strerror or exc}") from None
        changes.append(FileChange(shown, hook.manager, "removed"))
    return InstallResult("remove", str(root), tuple(changes), tuple(notes))
