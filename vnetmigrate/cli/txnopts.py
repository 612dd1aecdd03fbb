"""Options shared by the commands that change the host (plan, migrate, rollback) or read its journals."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from vnetmigrate.txn.statedir import DEFAULT

StateDirOpt = Annotated[Path, typer.Option(
    "--state-dir", metavar="DIR", help="Journals and the lock live here.")]
DEFAULT_STATE_DIR = Path(DEFAULT)


class TxnFormat(str, Enum):
    text = "text"
    json = "json"


TxnFormatOpt = Annotated[TxnFormat, typer.Option("--format", "-f", help="Output format: text or json.")]
