"""A fleet of KVM hosts on this machine for the Ansible collection's test (tests/lab/test_ansible_fleet.py).

Each host is a lab (tests.sandbox.Lab: host, guest and wan network namespaces, real kernel
nftables/iptables, libvirt's recorded rules and status file of tests/lab/libvirt_host.py) plus:

- a management address on a veth into one controller namespace (a bridge there, 198.18.0.0/24,
  the benchmarking range); Ansible runs inside the controller namespace, so nothing touches the
  machine's own interfaces;
- its own host name (a UTS namespace: scans name it) and its own mount namespace, made by
  `unshare --mount --uts` around its sshd, in which a tmpfs covers
  /run (its own /run/libvirt, /run/vnetmigrate lock, /run/sshd), per-host directories are bound
  over /etc/libvirt and /usr/local/sbin, and an overlay over /var/lib keeps its state dir
  (/var/lib/vnetmigrate) in a per-host upper directory: every host's `vnetmigrate` runs with the
  default paths and sees only its own libvirt files and journals, and the machine's are never
  written;
- its own OpenSSH sshd on its management address (key authentication with a throwaway key),
  which Ansible reaches over SSH like any managed host.

libvirt itself does not run (the lab's emulation, as in tests/lab/test_migrate.py): the rules
and status file are real libvirt 11.3's recordings, and /usr/local/sbin/libvirtd of each host
answers only `--version`, with that host's release, since the release decides the model and the
prerequisites (libvirt 10.9 needs no act_csum; 11.3 does, and this kernel lacks it: see
HACKING.md). Teardown (also on failure) kills sshd and everything else inside the namespaces;
the mount namespaces end with their last process, so no mount outlives the fleet.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from vnetmigrate.netns import entered
from tests.lab import libvirt_host
from tests.sandbox import Lab, fixtures, namespaces

MGMT = ipaddress.IPv4Network("198.18.0.0/24")
CONTROLLER_IP = "198.18.0.1"
REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
SWITCHED = libvirt_host.DATA.parents[1] / "11.3-switch-no-act-csum/after"  # recorded from real libvirt 11.3
LEFTOVER_NFT = """add table ip libvirt_network
add chain ip libvirt_network forward { type filter hook forward priority 0; policy accept; }
add chain ip libvirt_network guest_output
"""
SWITCHED_CONF = '# libvirt network.conf (lab)\n#firewall_backend = "nftables"\nfirewall_backend = "nftables"\n'


@dataclass
class HostSpec:
    name: str
    libvirt: str = "10.9.0"
    docker: str | None = None  # None, "drop" (Docker's FORWARD DROP), "drop+workaround" (with DOCKER-USER accepts)
    # "leftover": libvirt's (empty) nftables tables left beside its iptables rules by an earlier
    # switch and switch back; "switched": what real libvirt 11.3 leaves when it switched itself to nftables on a kernel
    # without act_csum (network.conf says nftables, the network is active without any rule,
    # the LIBVIRT_* chains stay empty, the status file has no removal recipe): guests are cut off.
    state: str = "iptables"


@dataclass
class FleetHost:
    spec: HostSpec
    lab: Lab
    addr: str
    dir: Path
    sshd: subprocess.Popen | None = None
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def state_dir(self) -> Path:
        """The host's /var/lib/vnetmigrate as seen from outside its mount namespace."""
        return self.dir / "varlib/upper/vnetmigrate"

    @property
    def network_conf(self) -> Path:
        return self.dir / "etc-libvirt/network.conf"


def _mount_script(h: FleetHost) -> str:
    d = h.dir
    return f"""set -e
hostname {h.name}
mount -t tmpfs -o mode=0755 vnm-fleet-run /run
mkdir -p /run/libvirt /run/sshd /run/ansible
mount --bind {d}/run-libvirt /run/libvirt
mount --bind {d}/etc-libvirt /etc/libvirt
mount --bind {d}/sbin /usr/local/sbin
mount -t overlay vnm-fleet-varlib -o lowerdir=/var/lib,upperdir={d}/varlib/upper,workdir={d}/varlib/work /var/lib
exec {SSHD} -D -e -f {d}/ssh/sshd_config
"""


def _sshd_config(h: FleetHost, keys: Path) -> str:
    return f"""ListenAddress {h.addr}
Port 22
HostKey {keys}/host_ed25519
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile {keys}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 100
MaxSessions 100
Subsystem sftp internal-sftp
"""


def _libvirtd(version: str) -> str:
    return f"""#!/bin/sh
# The lab's libvirt emulation: only the version answers (tests/lab/fleet.py).
case "$1" in
--version) echo "libvirtd (libvirt) {version}" ;;
*) echo "libvirtd: lab emulation, only --version" >&2; exit 1 ;;
esac
"""


class Fleet:
    def __init__(self, specs: list[HostSpec]):
        self.specs = specs
        self.hosts: list[FleetHost] = []
        self.controller = namespaces.new_name("fleetctl")
        self.tmp = Path(tempfile.mkdtemp(prefix="vnm-fleet-"))
        self._stack = ExitStack()

    # -- set-up -----------------------------------------------------------------------
    def start(self) -> "Fleet":
        try:
            self._keys()
            namespaces.create([self.controller])
            namespaces.ip_batch(self.controller, ["link set lo up", "link add fleet0 type bridge stp_state 0",
                                                  f"addr add {CONTROLLER_IP}/{MGMT.prefixlen} dev fleet0",
                                                  "link set fleet0 up"])
            for i, spec in enumerate(self.specs):
                self.hosts.append(self._host(i, spec))
            self._wait_for_sshd()
        except BaseException:
            self.close()
            raise
        return self

    def _keys(self) -> None:
        keys = self.tmp / "keys"
        keys.mkdir(mode=0o700)
        for name in ("host_ed25519", "client_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"vnm-fleet {name}",
                            "-f", str(keys / name)], check=True, capture_output=True)
        shutil.copy(keys / "client_ed25519.pub", keys / "authorized_keys")

    def _host(self, i: int, spec: HostSpec) -> FleetHost:
        lab = self._stack.enter_context(Lab())
        addr = str(MGMT.network_address + 10 + i)
        d = self.tmp / spec.name
        h = FleetHost(spec, lab, addr, d)
        root = d / "libvirt-root"
        if spec.state == "switched":
            for family, name in ((4, "iptables-save.txt"), (6, "ip6tables-save.txt")):
                lab.iptables_restore((SWITCHED / name).read_text(), family=family)
            libvirt_host.install(lab, root, conf=SWITCHED_CONF, rules=False)
            (root / "run/libvirt/network/default.xml").write_text((SWITCHED / "status/default.xml").read_text())
        else:
            libvirt_host.install(lab, root)
        if spec.state == "leftover":
            lab.nft(LEFTOVER_NFT)
        (d / "varlib/upper").mkdir(parents=True)
        (d / "varlib/work").mkdir()
        (root / "etc/libvirt").rename(d / "etc-libvirt")
        (root / "run/libvirt").rename(d / "run-libvirt")
        (d / "sbin").mkdir()
        (d / "sbin/libvirtd").write_text(_libvirtd(spec.libvirt))
        (d / "sbin/libvirtd").chmod(0o755)
        # The installed CLI of the host: this checkout's, as `./bootstrap scan` links it.
        (d / "sbin/vnetmigrate").symlink_to(REPO / ".venv/bin/vnetmigrate")
        if spec.docker:
            lab.iptables_restore(fixtures.DOCKER_28)
            if spec.docker == "drop+workaround":
                for argv in fixtures.DOCKER_USER_WORKAROUND:
                    lab.iptables(*argv)
        port = f"fh{i}"
        namespaces.ip_batch(self.controller, [f"link add {port} type veth peer name mgmt0 netns {lab.host}",
                                              f"link set {port} master fleet0 up"])
        namespaces.ip_batch(lab.host, [f"addr add {addr}/{MGMT.prefixlen} dev mgmt0", "link set mgmt0 up"])
        (d / "ssh").mkdir()
        (d / "ssh/sshd_config").write_text(_sshd_config(h, self.tmp / "keys"))
        h.sshd = lab.spawn(lab.host, ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c",
                                           _mount_script(h)],
                           stdout=subprocess.DEVNULL, stderr=open(d / "sshd.log", "w"))
        return h

    def _wait_for_sshd(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self.hosts)
        while waiting:
            for h in list(waiting):
                if h.sshd is not None and h.sshd.poll() is not None:
                    raise RuntimeError(f"sshd of {h.name} exited: {(h.dir / 'sshd.log').read_text()}")
                with entered(self.controller):
                    s = socket.socket()
                s.settimeout(0.5)
                try:
                    s.connect((h.addr, 22))
                    waiting.remove(h)
                except OSError:
                    pass
                finally:
                    s.close()
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not answer on {[h.name for h in waiting]}")
            if waiting:
                time.sleep(0.05)

    # -- use ----------------------------------------------------------------------------
    def inventory(self, path: Path, group: str = "kvm_hosts", **group_vars: object) -> Path:
        """A YAML inventory (JSON is YAML; INI would guess each value's type): every host by its
        management address, as root with the throwaway key."""
        doc = {group: {"hosts": {h.name: {"ansible_host": h.addr} for h in self.hosts},
                       "vars": {"ansible_user": "root",
                                "ansible_ssh_private_key_file": f"{self.tmp}/keys/client_ed25519",
                                "ansible_python_interpreter": "/usr/bin/python3",
                                "ansible_remote_tmp": "/run/ansible", **group_vars}}}
        path.write_text(json.dumps(doc, indent=1) + "\n")
        return path

    def ansible_env(self) -> dict[str, str]:
        home = self.tmp / "controller-home"
        home.mkdir(exist_ok=True)
        collections = self.tmp / "collections"
        link = collections / "ansible_collections/vnetmigrate/kvm"
        if not link.exists():
            link.parent.mkdir(parents=True)
            link.symlink_to(REPO / "ansible")
        return {"HOME": str(home), "PATH": f"{REPO}/.venv/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_HOME": str(home / ".ansible"),
                "ANSIBLE_LOCAL_TEMP": str(home / "tmp"), "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"), "ANSIBLE_PIPELINING": "True",
                "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no "
                                    "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
                "ANSIBLE_FORKS": "16", "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_DEPRECATION_WARNINGS": "False"}

    def ansible(self, argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
        """Run an ansible command (ansible-playbook, ansible) in the controller namespace."""
        with entered(self.controller):
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.tmp,
                                  env=self.ansible_env())

    # -- teardown -------------------------------------------------------------------------
    def close(self) -> None:
        try:
            self._stack.close()  # each lab: its processes (sshd), then its namespaces
        finally:
            namespaces.delete([self.controller])  # ssh control masters with it
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Fleet":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
