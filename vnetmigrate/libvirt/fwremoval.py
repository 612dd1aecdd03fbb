"""The removal recipe libvirt (>= 10.4) saves in a network's status file.

When libvirt adds a network's rules it records the commands that undo them, and writes
them into ``/run/libvirt/network/NAME.xml``::

    <firewall name='fwRemoval' backend='nftables'>
      <group ignoreErrors='yes'>
        <action layer='ipv4'><args><item>delete</item><item>rule</item>...</args></action>
        <action layer='tc'><args><item>filter</item><item>del</item>...</args></action>
      </group>
    </firewall>

Facts (seen with libvirt 11.3 here, and in virFirewallNewFromRollback()):

- the recipe is the rollback of the add transaction(s), in reverse: the last rule added is
  the first removed. The iptables backend has two groups, the mangle CHECKSUM rule (added in
  its own ignore-errors transaction) first, then every other rule;
- iptables actions are libvirt's own iptables argv with ``--insert`` turned into
  ``--delete`` (``--table T --delete CHAIN ...`` without the leading ``-w``);
- nftables actions delete by handle (``delete rule ip libvirt_network CHAIN handle N``):
  libvirt adds each rule with ``nft -ae`` and reads the handle back. The tc filter on the
  bridge (``layer='tc'``) is removed last; its qdisc is left to go with the bridge;
- layer is ``ipv4``/``ipv6`` for iptables/ip6tables (and nft ip/ip6), ``tc`` for tc;
- groups with ``ignoreErrors='yes'`` carry on past a failing command: the removal is
  best-effort, which is why a half-removed network leaves no error anywhere.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.libvirt.versions import Backend

LAYERS = ("ethernet", "ipv4", "ipv6", "tc")


@dataclass(frozen=True)
class RemovalAction:
    """One command of a network's fwRemoval recipe."""
    layer: str
    args: tuple[str, ...]

    @property
    def command(self) -> tuple[str, ...]:
        """The argv libvirt would run (binary chosen by layer and backend)."""
        return self.args

    # -- iptables shape: --table T --delete CHAIN <rule spec> ------------
    @property
    def iptables_table(self) -> str | None:
        return _value_after(self.args, ("--table", "-t"))

    @property
    def iptables_chain(self) -> str | None:
        return _value_after(self.args, ("--delete", "-D"))

    @property
    def iptables_spec(self) -> tuple[str, ...]:
        """The rule specification, without the table and the --delete CHAIN part."""
        out: list[str] = []
        skip = 0
        for i, arg in enumerate(self.args):
            if skip:
                skip -= 1
                continue
            if arg in ("--table", "-t", "--delete", "-D", "--insert", "-I", "--append", "-A"):
                skip = 1
                continue
            if arg == "-w" and i == 0:
                continue
            out.append(arg)
        return tuple(out)

    # -- nft shape: delete rule FAMILY TABLE CHAIN handle N --------------
    @property
    def nft_rule_ref(self) -> tuple[str, str, str, int] | None:
        a = self.args
        if len(a) == 7 and a[0] == "delete" and a[1] == "rule" and a[5] == "handle" and a[6].isdigit():
            return a[2], a[3], a[4], int(a[6])
        return None

    # -- tc shape: filter del dev BR prio P protocol ip parent 1: ... -----
    @property
    def tc_device(self) -> str | None:
        return _value_after(self.args, ("dev",)) if self.layer == "tc" else None


@dataclass(frozen=True)
class RemovalGroup:
    """A group of removal commands, and whether their errors are ignored."""
    ignore_errors: bool
    actions: tuple[RemovalAction, ...]


@dataclass(frozen=True)
class RemovalRecipe:
    """The commands that undo a network's firewall rules."""
    backend: Backend
    groups: tuple[RemovalGroup, ...]
    name: str = "fwRemoval"

    @property
    def actions(self) -> tuple[RemovalAction, ...]:
        return tuple(a for g in self.groups for a in g.actions)

def _value_after(args: tuple[str, ...], keys: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(args[:-1]):
        if arg in keys:
            return args[i + 1]
    return None


def parse_removal(elem: ET.Element, source: str) -> RemovalRecipe:
    """Parse a ``<firewall>`` element of a status file."""
    where = f"{source}: <firewall>"
    backend_text = elem.get("backend")
    try:
        backend = Backend(backend_text)
    except ValueError:
        raise InputError(f"{where} has unknown backend {backend_text!r} (expected iptables or nftables)") from None
    groups = []
    for gel in elem:
        if gel.tag != "group":
            continue
        ignore = gel.get("ignoreErrors", "no")
        if ignore not in ("yes", "no"):
            raise InputError(f"{where}: <group ignoreErrors={ignore!r}> is not yes/no")
        actions = []
        for ael in gel:
            if ael.tag != "action":
                continue
            layer = ael.get("layer")
            if layer not in LAYERS:
                raise InputError(f"{where}: <action layer={layer!r}> is not one of {', '.join(LAYERS)}")
            args_el = ael.find("args")
            if args_el is None:
                raise InputError(f"{where}: <action> without <args>")
            items = tuple((item.text or "") for item in args_el if item.tag == "item")
            if not items:
                raise InputError(f"{where}: <action> with no <item>")
            actions.append(RemovalAction(layer, items))
        groups.append(RemovalGroup(ignore == "yes", tuple(actions)))
    return RemovalRecipe(backend=backend, groups=tuple(groups), name=elem.get("name", "fwRemoval"))
