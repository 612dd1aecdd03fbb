"""Pause Python's cyclic garbage collector while a command builds its big, long-lived model.

Reading a host with tens of thousands of rules makes millions of small objects (parsed JSON,
typed rules, compiled matches) that stay alive until the command ends. Each time enough new
objects pile up the collector walks all of them again, looking for cycles they do not form:
on a host with 50,000 rules on the guests' path that was half of scan's wall time. Reference
counting still frees everything that is not in a cycle; what is, waits for the collector,
which runs again as soon as the pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's previous state after it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
