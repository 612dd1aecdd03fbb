"""Collectors: read a host into Evidence. Each collector is independent; one failing is
recorded as an error of that unit and the others still run."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

from vnetmigrate import __version__
from vnetmigrate.collect import docker, iptables, kernel, libvirt, managers, nft, system, txnstate
from vnetmigrate.collect.host import LiveHost, NftJson
from vnetmigrate.evidence import Evidence
from vnetmigrate.netns import entered
from vnetmigrate.specs import NFT_CHAINS



def _iptables(host: LiveHost) -> None:
    iptables.collect(host, libvirt.bridges(host.ev))


# A unit's name is the prefix of its errors (collect.NAME); nft.chains records the one key it is named after.
# Order matters: iptables lists the chains nft's chain list names, and only follows jumps
# that can match libvirt's bridges; nft then skips the tables iptables-nft manages.
COLLECTORS = (("system", system.collect), ("libvirt", libvirt.collect), ("docker", docker.collect),
              (NFT_CHAINS, nft.collect_chains), ("iptables", _iptables), ("nft.rules", nft.collect_rules),
              ("managers", managers.collect), ("kernel", kernel.collect), ("transactions", txnstate.collect))


# Collection normally takes seconds; a hung tool (60 s per call) once kept a scan going for
# more than 15 minutes. Past this, what is unread is reported as unknown (`scan --deadline`).
DEADLINE = 120.0


def collect_live(root: str = "/", netns: str | None = None, progress=None,
                 state_dir: str | None = None, deadline: float | None = DEADLINE, while_waiting=None,
                 eager: bool = False) -> Evidence:
    """Read the live host (in `netns`, with files under `root`) into Evidence, within
    `deadline` seconds; `while_waiting`: work done while a slow command runs, or with `eager`
    while any batch of commands runs (LiveHost)."""
    ev = Evidence(meta={
        "tool_version": __version__,
        "collected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "root": root,
        "netns": netns,
        "source": "live",
        "state_dir": state_dir,
    })
    with entered(netns):
        host = LiveHost(ev, root=root, nft=NftJson(), deadline=deadline, while_waiting=while_waiting,
                        eager=eager)
        host.while_waiting.insert(0, lambda: nft.prefetch_libvirt_tables(host))
        ev.meta["nft_via"] = host.nft.via
        start = time.monotonic()
        for name, collector in COLLECTORS:
            if progress:
                progress(name)
            try:
                collector(host)
            except Exception as exc:  # one failing collector must not stop the others
                ev.add_error(f"collect.{name}", f"{type(exc).__name__}: {exc}")
        ev.meta["duration"] = round(time.monotonic() - start, 4)
    return ev
