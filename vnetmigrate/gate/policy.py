"""The gate's policy file: what a blocker does to a pending libvirt upgrade.

    # /etc/vnetmigrate/gate.conf
    policy = block      # block: refuse the upgrade; warn: report and go ahead; off: do not check

A missing file means `block`. Anything else in the file is an error named by file and line,
so a typo never silently turns the gate off (nor on).
"""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError

CONFIG = "etc/vnetmigrate/gate.conf"  # under the root the gate judges
POLICIES = ("block", "warn", "off")
DEFAULT = "block"


@dataclass(frozen=True)
class Policy:
    """The gate's policy and the file it was read from."""
    policy: str
    source: str | None  # the file it was read from; None: the default


def load(path: Path) -> Policy:
    from vnetmigrate import bounded

    try:
        text = bounded.read_text(path, limit=64 * 1024)
    except FileNotFoundError:
        return Policy(DEFAULT, None)
    # (a directory, a huge file, bytes that are not UTF-8: bounded's InputError names the file)
    return Policy(parse(text, str(path)), str(path))


def parse(text: str, where: str) -> str:
    policy = DEFAULT
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or key != "policy":
            raise InputError(f"{where} line {number}: expected 'policy = block|warn|off', got {raw.strip()!r}")
        value = value.strip("\"'")
        if value not in POLICIES:
            raise InputError(f"{where} line {number}: policy must be block, warn or off, not {value!r}")
        policy = value
    return policy
