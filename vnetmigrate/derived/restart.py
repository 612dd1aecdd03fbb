"""restart_pending: active networks whose status file names another backend than network.conf
sets, {network: the status file's backend} (empty when none). libvirt moves their rules at its
network daemon's next restart (vnetmigrate.facts.ownership explains what that means for ownership)."""

from __future__ import annotations

from vnetmigrate.derived import derivation


@derivation("restart_pending", needs=("libvirt",))
def restart_pending(facts) -> dict[str, str]:
    from vnetmigrate.facts.ownership import restart_pending as pending_networks

    return pending_networks(facts.libvirt)
