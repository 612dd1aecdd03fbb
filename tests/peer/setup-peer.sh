#!/bin/bash
# Set up the peer tier: real libvirt as the oracle for vnetmigrate's model.
#
#   * Debian 12 (this machine): libvirt 9.0's daemon + virsh from apt (iptables backend only).
#   * Debian 13 "trixie" root built with debootstrap: libvirt 11.3's network daemon
#     (both backends), virsh, nftables, iptables, dnsmasq, iproute2.
#   * A copy of that root upgraded to trixie-backports' libvirt (12.9): the same tools, the
#     newer daemon.
#   * A copy of the trixie root with Debian 13's sos (sosreport, procps, xz-utils): the sos
#     report tests run real sos against a peer libvirt (tests/peer/sos.py).
#
# Idempotent: rerunning re-checks the host packages and reuses valid roots.
# Run as root. Nothing here starts a daemon or touches the host firewall: the packages
# installed have no init scripts that run on install (and a policy-rc.d denies any), and
# the trixie root is only built, never run.
#
# Environment:
#   VNM_PEER_CACHE   where the trixie root lives (default /var/cache/vnetmigrate/peer)
#   VNM_PEER_MIRROR  override the Debian mirror (default: read from this machine's apt sources)
#   VNM_PEER_REBUILD=1  rebuild the trixie root even if the cached one is valid
set -euo pipefail

CACHE=${VNM_PEER_CACHE:-/var/cache/vnetmigrate/peer}
ROOT=$CACHE/trixie-root
BPO_ROOT=$CACHE/trixie-bpo-root
BPO_PACKAGES="libvirt-daemon-driver-network libvirt-daemon libvirt-clients"
# Bump when the package list or the root's preparation changes: a root with another stamp
# is rebuilt.
ROOT_PACKAGES="libvirt-daemon-driver-network libvirt-clients nftables iptables dnsmasq-base iproute2"
STAMP="vnm-peer-root v1: $ROOT_PACKAGES"
# The backports root: a copy of the trixie root with these packages from trixie-backports;
# rebuilt when the trixie root's stamp or this one changes.
BPO_STAMP="vnm-peer-bpo-root v1: $BPO_PACKAGES on $STAMP"
# The same upgrade as a local file repository (the .debs apt downloads for it, and their
# Packages index): the apt gate's peer test upgrades an overlay of the trixie root from it,
# with no mirror. Re-downloaded when this stamp changes.
BPO_DEBS=$CACHE/trixie-bpo-debs
BPO_DEBS_STAMP="vnm-peer-bpo-debs v1: $BPO_PACKAGES on $STAMP"
# The sos root: a copy of the trixie root with Debian 13's sos report tool (tests/peer/sos.py
# runs it against a peer libvirt's rules); rebuilt when the trixie root's stamp or this one changes.
SOS_ROOT=$CACHE/trixie-sos-root
SOS_PACKAGES="sosreport xz-utils procps"
SOS_STAMP="vnm-peer-sos-root v1: $SOS_PACKAGES on $STAMP"
HOST_PACKAGES="libvirt-daemon libvirt-clients dnsmasq-base debootstrap iptables nftables iproute2 util-linux python3-nftables dpkg-dev"

log() { printf 'setup-peer: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
t_start=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- the Debian mirror, from this machine's apt sources --------------------------------
# The first "deb" URI serving a Debian release suite (not -security) with component main:
# deb822 *.sources first, then one-line sources.list and *.list. Never written into the
# project: each machine uses the mirror it is configured with.
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            BEGIN { RS = ""; FS = "\n" }
            {
                types = uris = suites = comps = ""; enabled = "yes"
                for (i = 1; i <= NF; i++) {
                    line = $i
                    if (line ~ /^[ \t]*#/) continue
                    if (match(line, /^Types:[ \t]*/)) types = substr(line, RLENGTH + 1)
                    if (match(line, /^URIs:[ \t]*/)) uris = substr(line, RLENGTH + 1)
                    if (match(line, /^Suites:[ \t]*/)) suites = substr(line, RLENGTH + 1)
                    if (match(line, /^Components:[ \t]*/)) comps = substr(line, RLENGTH + 1)
                    if (match(line, /^Enabled:[ \t]*/)) enabled = substr(line, RLENGTH + 1)
                }
                if (enabled == "no" || types !~ /(^| )deb( |$)/) next
                if (suites ~ /security/ || uris ~ /security/) next
                if (suites !~ /(bookworm|trixie|stable)/ || comps !~ /(^| )main( |$)/) next
                split(uris, u, /[ \t]+/)
                print u[1]; exit
            }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk '{ sub(/#.*/, ""); gsub(/\[[^]]*\]/, "") }
             $1 == "deb" && $0 !~ /security/ && $3 ~ /^(bookworm|trixie|stable)/ && / main( |$)/ {
                 print $2; exit
             }' "$f"
    done
}

# --- host packages (libvirt 9.0) ----------------------------------------------------
POLICY=/usr/sbin/policy-rc.d
POLICY_OURS=0
drop_policy() { if [ "$POLICY_OURS" = 1 ]; then rm -f "$POLICY"; POLICY_OURS=0; fi; }
trap drop_policy EXIT
install_host_packages() {
    local missing=() p
    for p in $HOST_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "host packages present"
        return
    fi
    log "installing host packages: ${missing[*]}"
    # A policy-rc.d that denies every service action, only for the duration of the install,
    # and only if none was there before (an admin's own policy stays untouched).
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$POLICY"
        chmod 755 "$POLICY"
        POLICY_OURS=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    drop_policy
}

# libvirtd 9.0 refuses to start without the users/groups its build names (Debian's
# postinst of libvirt-daemon-system creates them; we do not install that package: it
# would start services and define the machine's own default network).
ensure_users() {
    getent group kvm >/dev/null || groupadd --system kvm
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    if ! getent passwd libvirt-qemu >/dev/null; then
        useradd --system --gid kvm --groups libvirt-qemu --home-dir /var/lib/libvirt \
            --no-create-home --shell /usr/sbin/nologin libvirt-qemu
    fi
}

# The peer bind-mounts private directories over these inside its own mount namespace; a
# bind mount needs an existing mount point. Empty, as libvirt-daemon-system would create
# them; the peer never writes to the machine's copies.
ensure_mount_points() {
    mkdir -p /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
}

# --- the trixie root (libvirt 11.3) -------------------------------------------------
root_is_valid() {
    local root=$1 stamp=${2:-$STAMP} b
    [ -f "$root/.vnm-peer-stamp" ] && [ "$(cat "$root/.vnm-peer-stamp")" = "$stamp" ] || return 1
    [ "$(stat -c %a "$root")" = 755 ] || return 1
    for b in usr/sbin/libvirtd usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_network.so usr/bin/virsh usr/sbin/nft usr/sbin/iptables usr/sbin/dnsmasq usr/sbin/tc; do
        [ -e "$root/$b" ] || return 1
    done
    chroot "$root" /usr/sbin/libvirtd --version >/dev/null 2>&1
}

build_root() {
    local mirror=${VNM_PEER_MIRROR:-$(find_mirror | head -n1)}
    [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*.sources}; set VNM_PEER_MIRROR"
    local tmp
    tmp=$(mktemp -d "$CACHE/trixie-root.tmp.XXXXXX")
    # mktemp -d makes it 0700: as the root directory of the chroot that would stop every
    # unprivileged process in it (dnsmasq drops to user dnsmasq) from resolving any path.
    chmod 755 "$tmp"
    log "debootstrap trixie (minbase) from $mirror into $tmp"
    if ! debootstrap --variant=minbase trixie "$tmp" "$mirror" > "$CACHE/debootstrap.log" 2>&1; then
        tail -n 30 "$CACHE/debootstrap.log" >&2
        [ -f "$tmp/debootstrap/debootstrap.log" ] && tail -n 30 "$tmp/debootstrap/debootstrap.log" >&2
        rm -rf --one-file-system "$tmp"
        die "debootstrap failed (log: $CACHE/debootstrap.log)"
    fi
    # The packages go in with the root's own apt, not debootstrap --include: debootstrap's
    # resolver fails on trixie's libvirt (systemd's postinst breaks in its second stage).
    # apt runs in a throwaway mount namespace with /proc mounted there, and a policy-rc.d
    # inside the root so no maintainer script starts a service.
    printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    log "apt-get install in the root: $ROOT_PACKAGES"
    # shellcheck disable=SC2086
    if ! unshare --mount --propagation private sh -c '
            mount -t proc proc "$1/proc" && shift &&
            chroot "$0" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
                apt-get install -y -q --no-install-recommends "$@"' \
            "$tmp" "$tmp" $ROOT_PACKAGES > "$CACHE/apt.log" 2>&1; then
        tail -n 30 "$CACHE/apt.log" >&2
        rm -rf --one-file-system "$tmp"
        die "apt-get install in the trixie root failed (log: $CACHE/apt.log)"
    fi
    rm -f "$tmp/usr/sbin/policy-rc.d"
    # Package caches are not needed to run anything.
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
    echo "$STAMP" > "$tmp/.vnm-peer-stamp"
    if ! root_is_valid "$tmp"; then
        rm -rf --one-file-system "$tmp"
        die "the new trixie root does not run libvirtd"
    fi
    # Swap in atomically-ish: a killed build leaves only a *.tmp.* dir, never a half root.
    if [ -e "$ROOT" ]; then
        local old="$CACHE/trixie-root.old.$$"
        mv "$ROOT" "$old"
        mv "$tmp" "$ROOT"
        rm -rf --one-file-system "$old"
    else
        mv "$tmp" "$ROOT"
    fi
}

# --- the trixie-backports root (libvirt 12.x) ----------------------------------------
# A copy of the valid trixie root, trixie-backports added to the copy's own apt sources (the
# same mirror), and the daemon packages upgraded from there. As for the trixie root, apt
# runs in a throwaway mount namespace with a policy-rc.d inside the copy: nothing starts.
build_bpo_root() {
    local mirror=${VNM_PEER_MIRROR:-$(find_mirror | head -n1)}
    [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*.sources}; set VNM_PEER_MIRROR"
    local tmp
    tmp=$(mktemp -d "$CACHE/trixie-bpo-root.tmp.XXXXXX")
    rmdir "$tmp"
    cp -a "$ROOT" "$tmp"
    chmod 755 "$tmp"
    echo "deb $mirror trixie-backports main" > "$tmp/etc/apt/sources.list.d/trixie-backports.list"
    printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    log "apt-get install -t trixie-backports in a copy of the trixie root: $BPO_PACKAGES"
    # shellcheck disable=SC2086
    if ! unshare --mount --propagation private sh -c '
            mount -t proc proc "$1/proc" && shift &&
            chroot "$0" env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -c "apt-get update -q &&
                apt-get install -y -q --no-install-recommends -t trixie-backports \$*" sh "$@"' \
            "$tmp" "$tmp" $BPO_PACKAGES > "$CACHE/apt-bpo.log" 2>&1; then
        tail -n 30 "$CACHE/apt-bpo.log" >&2
        rm -rf --one-file-system "$tmp"
        die "apt-get install in the trixie-backports root failed (log: $CACHE/apt-bpo.log)"
    fi
    rm -f "$tmp/usr/sbin/policy-rc.d"
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
    echo "$BPO_STAMP" > "$tmp/.vnm-peer-stamp"
    if ! root_is_valid "$tmp" "$BPO_STAMP"; then
        rm -rf --one-file-system "$tmp"
        die "the new trixie-backports root does not run libvirtd"
    fi
    if [ -e "$BPO_ROOT" ]; then
        local old="$CACHE/trixie-bpo-root.old.$$"
        mv "$BPO_ROOT" "$old"
        mv "$tmp" "$BPO_ROOT"
        rm -rf --one-file-system "$old"
    else
        mv "$tmp" "$BPO_ROOT"
    fi
}

# --- the trixie-backports upgrade as a local repository --------------------------------
bpo_debs_valid() {
    [ -f "$BPO_DEBS/.vnm-peer-stamp" ] && [ "$(cat "$BPO_DEBS/.vnm-peer-stamp")" = "$BPO_DEBS_STAMP" ] &&
        [ -s "$BPO_DEBS/Packages" ]
}

# apt-get install --download-only of the backports packages in a throwaway overlay of the
# trixie root (its upper layer in a temporary directory; the cached root is never written),
# with apt's archive directory bind-mounted to the new cache: exactly the .debs that upgrade
# needs on top of the trixie root, then indexed by dpkg-scanpackages.
cache_bpo_debs() {
    local mirror=${VNM_PEER_MIRROR:-$(find_mirror | head -n1)}
    [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*.sources}; set VNM_PEER_MIRROR"
    local work out
    work=$(mktemp -d "$CACHE/trixie-bpo-debs-work.tmp.XXXXXX")
    out=$(mktemp -d "$CACHE/trixie-bpo-debs.tmp.XXXXXX")
    chmod 755 "$work" "$out"
    mkdir -p "$work/upper" "$work/work" "$work/root" "$out/partial"
    log "apt-get install --download-only -t trixie-backports (in an overlay of the trixie root): $BPO_PACKAGES"
    # shellcheck disable=SC2086
    if ! unshare --mount --propagation private sh -c '
            set -e
            root=$0 work=$1 out=$2 mirror=$3; shift 3
            mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/work" "$work/root"
            mount -t proc proc "$work/root/proc"
            mount --bind "$out" "$work/root/var/cache/apt/archives"
            echo "deb $mirror trixie-backports main" > "$work/root/etc/apt/sources.list.d/trixie-backports.list"
            chroot "$work/root" env LC_ALL=C apt-get update -q
            chroot "$work/root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
                apt-get install -y -q --download-only --no-install-recommends -t trixie-backports "$@"' \
            "$ROOT" "$work" "$out" "$mirror" $BPO_PACKAGES > "$CACHE/apt-bpo-debs.log" 2>&1; then
        tail -n 30 "$CACHE/apt-bpo-debs.log" >&2
        rm -rf --one-file-system "$work" "$out"
        die "downloading the trixie-backports packages failed (log: $CACHE/apt-bpo-debs.log)"
    fi
    rm -rf --one-file-system "$work"
    rm -rf "$out/partial" "$out/lock"
    (cd "$out" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null)
    [ -s "$out/Packages" ] || { rm -rf "$out"; die "no trixie-backports packages were downloaded"; }
    echo "$BPO_DEBS_STAMP" > "$out/.vnm-peer-stamp"
    rm -rf "$BPO_DEBS"
    mv "$out" "$BPO_DEBS"
}

# --- the sos root (Debian 13's sos) ----------------------------------------------------
# Built like the backports root: a copy of the valid trixie root, apt in a throwaway mount
# namespace, a policy-rc.d so nothing starts, swapped in whole.
sos_root_is_valid() {
    [ -f "$SOS_ROOT/.vnm-peer-stamp" ] && [ "$(cat "$SOS_ROOT/.vnm-peer-stamp")" = "$SOS_STAMP" ] || return 1
    [ -x "$SOS_ROOT/usr/bin/sos" ] && [ -x "$SOS_ROOT/usr/bin/xz" ] && [ -x "$SOS_ROOT/usr/sbin/libvirtd" ]
}

build_sos_root() {
    local tmp
    tmp=$(mktemp -d "$CACHE/trixie-sos-root.tmp.XXXXXX")
    rmdir "$tmp"
    cp -a "$ROOT" "$tmp"
    chmod 755 "$tmp"
    printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    log "apt-get install in a copy of the trixie root: $SOS_PACKAGES"
    # shellcheck disable=SC2086
    if ! unshare --mount --propagation private sh -c '
            mount -t proc proc "$1/proc" && shift &&
            chroot "$0" env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -c "apt-get update -q &&
                apt-get install -y -q --no-install-recommends \$*" sh "$@"' \
            "$tmp" "$tmp" $SOS_PACKAGES > "$CACHE/apt-sos.log" 2>&1; then
        tail -n 30 "$CACHE/apt-sos.log" >&2
        rm -rf --one-file-system "$tmp"
        die "apt-get install in the sos root failed (log: $CACHE/apt-sos.log)"
    fi
    rm -f "$tmp/usr/sbin/policy-rc.d"
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
    echo "$SOS_STAMP" > "$tmp/.vnm-peer-stamp"
    if [ -e "$SOS_ROOT" ]; then
        local old="$CACHE/trixie-sos-root.old.$$"
        mv "$SOS_ROOT" "$old"
        mv "$tmp" "$SOS_ROOT"
        rm -rf --one-file-system "$old"
    else
        mv "$tmp" "$SOS_ROOT"
    fi
    sos_root_is_valid || die "the new sos root has no sos"
}

# A killed build leaves only trixie-root.tmp.* (never a half trixie-root): remove those,
# after unmounting anything debootstrap had mounted inside (rm never crosses a mount).
remove_leftovers() {
    local d m
    for d in "$CACHE"/trixie-root.tmp.* "$CACHE"/trixie-root.old.* \
             "$CACHE"/trixie-bpo-root.tmp.* "$CACHE"/trixie-bpo-root.old.* \
             "$CACHE"/trixie-bpo-debs.tmp.* "$CACHE"/trixie-bpo-debs-work.tmp.* \
             "$CACHE"/trixie-sos-root.tmp.* "$CACHE"/trixie-sos-root.old.*; do
        [ -e "$d" ] || continue
        awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
            while read -r m; do umount -l "$m"; done
        rm -rf --one-file-system "$d"
        log "removed leftover $d"
    done
}

main() {
    mkdir -p "$CACHE"
    # One set-up at a time (two CI jobs, or a rerun while a build is still going).
    exec 9>"$CACHE/.lock"
    flock 9
    remove_leftovers
    install_host_packages
    ensure_users
    ensure_mount_points
    local t
    if [ "${VNM_PEER_REBUILD:-0}" != 1 ] && root_is_valid "$ROOT"; then
        log "trixie root valid: $ROOT"
    else
        t=$(date +%s.%N)
        build_root
        log "trixie root built in $(since "$t") s"
    fi
    if [ "${VNM_PEER_REBUILD:-0}" != 1 ] && root_is_valid "$BPO_ROOT" "$BPO_STAMP"; then
        log "trixie-backports root valid: $BPO_ROOT"
    else
        t=$(date +%s.%N)
        build_bpo_root
        log "trixie-backports root built in $(since "$t") s"
    fi
    if [ "${VNM_PEER_REBUILD:-0}" != 1 ] && bpo_debs_valid; then
        log "trixie-backports packages cached: $BPO_DEBS"
    else
        t=$(date +%s.%N)
        cache_bpo_debs
        log "trixie-backports packages cached in $(since "$t") s: $(ls "$BPO_DEBS"/*.deb | wc -l) .debs"
    fi
    if [ "${VNM_PEER_REBUILD:-0}" != 1 ] && sos_root_is_valid; then
        log "sos root valid: $SOS_ROOT"
    else
        t=$(date +%s.%N)
        build_sos_root
        log "sos root built in $(since "$t") s"
    fi
    log "libvirt 9.0: $(libvirtd --version 2>/dev/null || echo missing)"
    log "libvirt 11.3: $(chroot "$ROOT" /usr/sbin/libvirtd --version)"
    log "libvirt 12.x: $(chroot "$BPO_ROOT" /usr/sbin/libvirtd --version)"
    log "sos: $(chroot "$SOS_ROOT" dpkg-query -W -f='${Version}' sosreport)"
    log "done in $(since "$t_start") s"
}

main "$@"
