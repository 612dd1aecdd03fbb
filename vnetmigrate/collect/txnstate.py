"""Collect the summaries of vnetmigrate's own transactions (the state dir's journals).

An interrupted or failed migration leaves the host half-way; scan must say so. Only the
journals' summaries are recorded (a journal holds every rule of every step: too big for
evidence). The state dir is read under --root unless `--state-dir` names it (the default
of every command: vnetmigrate.txnstore.default_dir); a missing state dir simply means no
transaction ever ran. Reading takes no lock and writes nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.txnstore import JournalCorrupt, StateDirError, default_dir, read, txn_dirs
from vnetmigrate.specs import TXN_JOURNALS as KEY


def state_dir(host: LiveHost) -> Path:
    explicit = host.ev.meta.get("state_dir")
    return Path(explicit) if explicit else default_dir(host.root)


def collect(host: LiveHost) -> None:
    path = state_dir(host)
    start = time.monotonic()
    rows = []
    try:
        for d in txn_dirs(path):
            try:
                rows.append(read(d).to_dict())
            except JournalCorrupt as exc:
                rows.append({"id": d.name, "status": "corrupt", "errors": [exc.message]})
    except StateDirError as exc:
        host.ev.add_command(CommandRecord(KEY, ("read-journals", str(path)), 1, stderr=exc.message, via="python"))
        return
    host.ev.add_command(CommandRecord(KEY, ("read-journals", str(path)), 0, via="python",
                                      stdout=json.dumps(rows, sort_keys=True, default=str),
                                      duration=round(time.monotonic() - start, 4)))
