"""Collect what the running kernel offers libvirt's nftables backend: nf_tables, and for
libvirt >= 11 tc's u32 classifier, htb qdisc and csum action (the DHCP checksum filter).

Kernel state is always the live kernel's, whatever --root says. The kernel configuration is
read from /proc/config.gz or /boot/config-RELEASE, keeping only the lines that matter; modules
from /lib/modules/RELEASE (modules.builtin, the net/sched directory, and net/netfilter for the
xt modules libvirt's iptables backend needs: RHEL 10 ships them in kernel-modules-extra).
"""

from __future__ import annotations

import gzip
import os
import re

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import FileRecord

RELEVANT = re.compile(r"^(# )?CONFIG_(NF_TABLES|NFT_[A-Z_]+|NET_ACT_CSUM|NET_CLS_U32|NET_SCH_HTB|NET_CLS_ACT)\b")


def _relevant(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if RELEVANT.match(line))


def collect(host: LiveHost) -> None:
    release = os.uname().release
    host.ev.meta["kernel_release"] = release
    try:
        with gzip.open("/proc/config.gz", "rt", encoding="utf-8", errors="replace") as fh:
            host.ev.add_file(FileRecord("/proc/config.gz", _relevant(fh.read())))
    except FileNotFoundError:
        host.ev.add_file(FileRecord("/proc/config.gz", None, "absent"))
    except (OSError, EOFError) as exc:
        host.ev.add_file(FileRecord("/proc/config.gz", None, str(exc)))
    boot = host.read(f"/boot/config-{release}", kernel=True)
    if boot.content is not None:
        host.ev.add_file(FileRecord(boot.path, _relevant(boot.content)))
    host.read(f"/lib/modules/{release}/modules.builtin", kernel=True)
    host.listdir(f"/lib/modules/{release}/kernel/net/sched", kernel=True, read=False)
    host.listdir(f"/lib/modules/{release}/kernel/net/netfilter", kernel=True, read=False)
