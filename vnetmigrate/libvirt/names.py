"""Interface names, validated before they can reach any command line or rule text.

The kernel (``dev_valid_name()`` in net/core/dev.c) accepts a name that is non-empty,
shorter than IFNAMSIZ (16 bytes, so at most 15), not ``.`` or ``..``, and free of ``/``,
``:`` and whitespace. Everything else, including quotes, ``;``, ``*``, ``$`` and non-ASCII
bytes, is a legal interface name as far as the kernel is concerned.

We are stricter, because the names we handle end up in nft rule text, iptables-restore
lines, ``tc`` arguments and reports:

- only ASCII letters, digits, ``_``, ``.`` and ``-``: nothing that nft, a shell or a
  restore file could read as a quote, a separator, a comment or a wildcard (``*`` is a
  wildcard in nft's ``iifname``);
- no ``+``: iptables reads a trailing ``+`` in ``-i``/``-o`` as "any name with this prefix",
  so a bridge called ``virbr+`` would silently match every ``virbr*`` interface;
- no ``@``: ``ip link`` prints ``name@peer``, so such names are ambiguous in its output;
- no ``:`` (the kernel refuses it too; it marks IPv4 address labels like ``eth0:1``);
- the first character is a letter, a digit or ``_``: a leading ``-`` could be read as an
  option by ``tc``/``ip``, and this also rules out ``.`` and ``..``.

Every name libvirt itself generates (``virbrN``, ``vnetN``, ``macvtapN``) and every name
that udev/systemd generates (``enp1s0``, ``eth0``, ``br-lan``, ``bond0.100``) passes.
"""

from __future__ import annotations

import re

IFNAMSIZ = 16
_IFNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class InvalidName(ValueError):
    """An interface name that must not reach a command (message says why)."""


def validate_ifname(name: str) -> str:
    """Return `name` unchanged if it is a safe interface name, else raise InvalidName."""
    if not isinstance(name, str):
        raise InvalidName(f"interface name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidName("interface name is empty")
    shown = repr(name) if len(name) <= 40 else repr(name[:40] + "...")
    if len(name.encode("utf-8", "surrogatepass")) >= IFNAMSIZ:
        raise InvalidName(f"interface name {shown} is longer than {IFNAMSIZ - 1} bytes")
    if not _IFNAME_RE.fullmatch(name):
        raise InvalidName(
            f"interface name {shown} contains characters other than letters, digits, '_', '.'"
            " and '-' (or does not start with a letter, digit or '_')")
    return name


def is_valid_ifname(name: str) -> bool:
    try:
        validate_ifname(name)
    except InvalidName:
        return False
    return True
