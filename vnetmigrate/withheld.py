"""What a support bundle never carries: libvirt's secrets, private keys, guests' passwords.

Every file and command output goes through `screen` before it is written into a bundle. A
file is withheld whole when it is a secret (libvirt's secret store, a *.key file, anything
holding a PEM private key); credentials inside XML (a guest's `<graphics passwd=...>`, any
`password`/`passphrase` attribute) are blanked and the rest is kept, because the domain XML
also says which nwfilter a guest uses, which scan reads.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

SECRET_DIRS = ("/etc/libvirt/secrets", "/var/lib/libvirt/secrets")
KEY_SUFFIXES = (".key",)
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
CREDENTIAL_ATTRIBUTE = re.compile(r"""\b(passwd|password|passphrase)\s*=\s*(['"])(.*?)\2""", re.IGNORECASE | re.DOTALL)
BLANKED = "(withheld)"


def withheld_path(path: str) -> str | None:
    """Why a path is never collected, or None."""
    pure = PurePosixPath(path)
    for directory in SECRET_DIRS:
        if pure == PurePosixPath(directory) or PurePosixPath(directory) in pure.parents:
            return "libvirt secret store"
    if pure.name.endswith(KEY_SUFFIXES):
        return "private key file"
    return None


def screen(path: str, content: str | None) -> tuple[str | None, str | None]:
    """(content to store, why it was withheld or None); credentials in XML are blanked."""
    why = withheld_path(path)
    if why is not None:
        return None, why
    if content is None:
        return None, None
    if PRIVATE_KEY.search(content):
        return None, "holds a private key"
    return CREDENTIAL_ATTRIBUTE.sub(lambda m: f"{m.group(1)}={m.group(2)}{BLANKED}{m.group(2)}", content), None
