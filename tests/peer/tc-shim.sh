#!/bin/sh
# Shim `tc` for the peer tier's libvirt 11.3 (bind-mounted over /usr/sbin/tc inside the
# peer's private mount namespace only; the cached Debian 13 root is never modified).
#
# Why: libvirt 11.x fixes DHCP reply checksums by running, for every network it starts,
#     tc filter add dev BRIDGE prio 2 protocol ip parent 1: u32 match ip dport 68 ffff \
#         action csum ip and udp
# and gives up starting the network when that fails. This machine's kernel has no
# CONFIG_NET_ACT_CSUM, so the real tc fails ("Failed to load TC action module"), and
# libvirt 11.3's nftables backend could not start any network here.
#
# What: exactly that filter (any bridge name) is accepted without touching the kernel, for
# `add` and for the `del` of libvirt's removal recipe (on a kernel with act_csum both
# succeed; without the shim the del fails, which libvirt ignores). Every other invocation
# goes to the real tc (bind-mounted at $REAL). Each call is logged to $LOG so tests can
# assert what libvirt asked for:
#     faked: ARGS              the csum filter above, not applied
#     ran: ARGS -> exit N      passed to the real tc
REAL=/run/vnm-peer/tc.real
LOG=/run/vnm-peer/tc.log

if [ $# -eq 21 ] && [ "$1" = filter ] && { [ "$2" = add ] || [ "$2" = del ]; } && [ "$3" = dev ] && \
   [ "$*" = "filter $2 dev $4 prio 2 protocol ip parent 1: u32 match ip dport 68 ffff action csum ip and udp" ]; then
    echo "faked: $*" >> "$LOG"
    exit 0
fi

"$REAL" "$@"
rc=$?
echo "ran: $* -> exit $rc" >> "$LOG"
exit $rc
