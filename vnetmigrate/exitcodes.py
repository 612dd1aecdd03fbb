"""Exit codes: named, documented in vnetmigrate(8), distinct from click's usage error (2)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Nothing to report, or the operation succeeded."""
    ERROR = 1
    """The command could not do its work (bad input, missing tool, not root); nothing was changed."""
    USAGE = 2
    """Invalid command line (click's own code)."""
    WARNINGS = 3
    """Scan found warnings but no blockers, or could not read or check everything."""
    BLOCKERS = 4
    """Scan found at least one blocker: do not upgrade or migrate yet."""
    ROLLED_BACK = 5
    """A change failed and was rolled back; the host is in its previous state."""
    NEEDS_ATTENTION = 6
    """A rollback failed or a transaction is incomplete: the host needs attention."""
