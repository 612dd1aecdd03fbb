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
from vnetmigrate.specs import (BOOT_CONFIG_T, KERNEL_CONFIG, MODULES_BUILTIN_T, NETFILTER_MODULES_T,
                               SCHED_MODULES_T)

RELEVANT = re.compile(r"^(# )?CONFIG_(NF_TABLES|NFT_[A-Z_]+|NET_ACT_CSUM|NET_CLS_U32|NET_SCH_HTB|NET_CLS_ACT)\b")


def _relevant(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if RELEVANT.match(line))


def collect(host: LiveHost) -> None:
    release = os.uname().release
    host.ev.meta["kernel_release"] = release
    try:
        with gzip.open(KERNEL_CONFIG, "rt", encoding="utf-8", errors="replace") as fh:
            host.ev.add_file(FileRecord(KERNEL_CONFIG, _relevant(fh.read())))
    except FileNotFoundError:
        host.ev.add_file(FileRecord(KERNEL_CONFIG, None, "absent"))
    except (OSError, EOFError) as exc:
        host.ev.add_file(FileRecord(KERNEL_CONFIG, None, str(exc)))
    boot = host.read(BOOT_CONFIG_T.format(release=release), kernel=True)
    if boot.content is not None:
        host.ev.add_file(FileRecord(boot.path, _relevant(boot.content)))
    host.read(MODULES_BUILTIN_T.format(release=release), kernel=True)
    host.listdir(SCHED_MODULES_T.format(release=release), kernel=True, read=False)
    host.listdir(NETFILTER_MODULES_T.format(release=release), kernel=True, read=False)
