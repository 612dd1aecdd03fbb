"""libvirt's /etc/libvirt/network.conf: read it, and rewrite one setting keeping the rest.

The file uses libvirt's config syntax (virconf): ``key = value`` with ``#`` comments, where a
value is a quoted string, an integer or a ``[ ... ]`` list that may span lines. network.conf has
one setting that matters here, ``firewall_backend``. A malformed file makes libvirt's network
driver refuse to start, so it is an error here too, with its line number.
"""

from __future__ import annotations

import re

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.firewall import Backend
from vnetmigrate.specs import NETWORK_CONF as PATH

BACKENDS = tuple(b.value for b in Backend)
_SETTING = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")
_STRING = re.compile(r"""^("([^"\\]*)"|'([^'\\]*)')\s*(#.*)?$""")
_NUMBER = re.compile(r"^-?[0-9]+\s*(#.*)?$")


@dataclass(frozen=True)
class Setting:
    """One key of network.conf and its value."""
    key: str
    value: object
    line: int  # 1-based line of the key


@dataclass(frozen=True)
class NetworkConf:
    """network.conf's settings and its text."""
    settings: tuple[Setting, ...]
    text: str

    def get(self, key: str) -> Setting | None:
        # libvirt's virconf appends every assignment and its lookup returns the first one
        # (virConfGetValue walks the list from the head): the first assignment wins.
        return next((s for s in self.settings if s.key == key), None)

    def all(self, key: str) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.key == key)

    @property
    def firewall_backend(self) -> Setting | None:
        return self.get("firewall_backend")

    def with_backend(self, backend: str) -> str:
        """This file's text with firewall_backend set to `backend` (see with_backend below)."""
        return _with_backend(self, backend)


def parse(text: str, origin: str = PATH) -> NetworkConf:
    settings: list[Setting] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        lineno = i + 1
        i += 1
        if not stripped or stripped.startswith("#"):
            continue
        m = _SETTING.match(line)
        if not m:
            raise InputError(f"{origin}: line {lineno}: expected 'key = value', found {stripped!r}")
        key, raw = m.group(1), m.group(2)
        if raw.startswith("["):
            while "]" not in _strip_comment(raw) and i < len(lines):
                raw += " " + lines[i].strip()
                i += 1
            if "]" not in _strip_comment(raw):
                raise InputError(f"{origin}: line {lineno}: list for {key!r} is not closed with ']'")
            items = re.findall(r'"([^"]*)"|\'([^\']*)\'', _strip_comment(raw))
            settings.append(Setting(key, [a or b for a, b in items], lineno))
            continue
        s = _STRING.match(raw)
        if s:
            settings.append(Setting(key, s.group(2) if s.group(2) is not None else s.group(3), lineno))
        elif _NUMBER.match(raw):
            settings.append(Setting(key, int(_strip_comment(raw)), lineno))
        else:
            raise InputError(f"{origin}: line {lineno}: value of {key!r} must be a quoted string, "
                             f"a number or a list, found {raw!r}")
    conf = NetworkConf(tuple(settings), text)
    backend = conf.firewall_backend
    if backend is not None and backend.value not in BACKENDS:
        raise InputError(f"{origin}: line {backend.line}: firewall_backend = {backend.value!r} is not "
                         f"one of {', '.join(BACKENDS)} (libvirt's network driver would fail to start)")
    return conf


def _strip_comment(raw: str) -> str:
    out, quote = [], None
    for ch in raw:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        out.append(ch)
    return "".join(out)


def with_backend(text: str, backend: str) -> str:
    """network.conf text with firewall_backend set to `backend`; comments and the rest kept.

    Every active assignment is replaced in place (libvirt reads the first; rewriting all keeps
    the file unambiguous); without one, the setting is added after the commented-out sample
    if there is one, else at the end.
    """
    return _with_backend(parse(text), backend)


def _with_backend(conf: NetworkConf, backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(backend)
    text = conf.text
    lines = text.splitlines(keepends=True)
    new = f'firewall_backend = "{backend}"\n'
    current = conf.all("firewall_backend")
    if current:
        for setting in current:
            lines[setting.line - 1] = new
        return "".join(lines)
    sample = [n for n, ln in enumerate(lines) if re.match(r"^\s*#\s*firewall_backend\s*=", ln)]
    if sample:
        lines.insert(sample[-1] + 1, new)
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(new)
    return "".join(lines)
