"""Collect the summaries of vnetmigrate's own transactions (the state dir's journals).

An interrupted or failed migration leaves the host half-way; scan must say so. Only the
journals' summaries are recorded (a journal holds every rule of every step: too big for
evidence). The state dir is read under --root unless `--state-dir` names it (the default
of every command: vnetmigrate.txn.statedir.default_dir); a missing state dir simply means no
transaction ever ran. Reading takes no lock and writes nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.specs import TXN_JOURNALS as KEY


def state_dir(host: LiveHost) -> Path:
    from vnetmigrate.txn.statedir import default_dir

    explicit = host.ev.meta.get("state_dir")
    return Path(explicit) if explicit else default_dir(host.root)


def collect(host: LiveHost) -> None:
    from vnetmigrate.txn import journal
    from vnetmigrate.txn.statedir import StateDir, StateDirError

    path = state_dir(host)
    start = time.monotonic()
    rows = []
    try:
        for d in StateDir(path).txn_dirs():
            try:
                rows.append(journal.read(d).to_dict())
            except journal.JournalCorrupt as exc:
                rows.append({"id": d.name, "status": "corrupt", "errors": [exc.message]})
    except StateDirError as exc:
        host.ev.add_command(CommandRecord(KEY, ("read-journals", str(path)), 1, stderr=exc.message, via="python"))
        return
    host.ev.add_command(CommandRecord(KEY, ("read-journals", str(path)), 0, via="python",
                                      stdout=json.dumps(rows, sort_keys=True, default=str),
                                      duration=round(time.monotonic() - start, 4)))
