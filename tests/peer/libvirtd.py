"""Real libvirt in throwaway namespaces: the oracle of the peer tier.

    with PeerLibvirt("11.3", "nftables") as peer:
        peer.define_and_start(xml_text)
        print(peer.nft_ruleset_text())

Each instance owns:
  * a network namespace ``vnm-peer-<owner pid>-<random>`` (the owner pid lets a later run
    sweep what a killed run left behind);
  * a state directory ``/run/vnm-peer/<netns>/`` on this machine laid out like a root
    (``etc/libvirt``, ``run``, ``var/lib/libvirt``, ``var/cache/libvirt``, ``var/log/libvirt``):
    the daemon sees these at their usual paths through bind mounts, and from the root
    mount namespace they are plain directories, so ``state_dir`` can be given to a scanner
    as ``--root`` (with ``--netns`` = ``netns``);
  * a holder process (holder.py): PID 1 of a private PID namespace, in a private mount
    namespace that holds those bind mounts. /run/libvirt therefore survives daemon
    restarts, as on a real host, and killing the holder kills everything in the peer.

libvirt 9.0 is Debian 12's ``libvirtd`` from this machine (iptables backend only: it has no
network.conf). libvirt 11.3 is Debian 13's ``libvirtd`` in the debootstrap root made by
setup-peer.sh, run with ``chroot`` inside the namespaces; libvirt 12.9 is trixie-backports'
``libvirtd`` in a copy of that root. Debian ships the network driver as a module of the
monolithic libvirtd in all three (no virtnetworkd binary).

Nothing here touches the machine's own /etc/libvirt, /run/libvirt, /var/lib/libvirt or the
root namespace's firewall: inside the private mount namespace the machine's / (9.0) or the
cached root (11.3, 12.9) is remounted read-only, so a stray write fails instead of landing.

Also a command line, for tools that must restart the daemon like a service manager would:
    python3 tests/peer/libvirtd.py restart STATE_DIR      (see restart_command())
"""

from __future__ import annotations

import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_CACHE = Path(os.environ.get("VNM_PEER_CACHE", "/var/cache/vnetmigrate/peer"))
TRIXIE_ROOT = PEER_CACHE / "trixie-root"
TRIXIE_BPO_ROOT = PEER_CACHE / "trixie-bpo-root"
# The versions that run in a chroot of their own (9.0 is this machine's own libvirt).
ROOTS = {"11.3": TRIXIE_ROOT, "12.9": TRIXIE_BPO_ROOT}
ROOT_STAMPS = {"11.3": "vnm-peer-root v1:", "12.9": "vnm-peer-bpo-root v1:"}
ROOT_STAMP_PREFIX = "vnm-peer-root v1:"
STATE_BASE = Path("/run/vnm-peer")
NETNS_PREFIX = "vnm-peer-"
VERSIONS = ("9.0", "11.3", "12.9")
BACKENDS = ("iptables", "nftables", None)
# Commands run inside the peer see only this environment: no locale surprises in the
# outputs we record, no PATH from the test runner's venv.
EXEC_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/root"}
URI = "network:///system"   # served by the monolithic libvirtd of both versions
START_TIMEOUT = 30.0
_LIBVIRT_DIRS = ("etc/libvirt", "var/lib/libvirt", "var/cache/libvirt", "var/log/libvirt")


class PeerUnavailable(RuntimeError):
    """The peer set-up is missing or unusable here (tests skip with this message)."""


class PeerError(RuntimeError):
    """Something in the peer failed."""


class VirshError(PeerError):
    def __init__(self, argv: list[str], proc: subprocess.CompletedProcess):
        self.argv = argv
        self.returncode = proc.returncode
        self.stderr = proc.stderr.strip()
        super().__init__(f"{' '.join(argv)}: exit {proc.returncode}: {self.stderr}")


def unavailable_reason(version: str) -> str | None:
    """Why a peer of this libvirt version cannot run here, or None if it can."""
    if os.geteuid() != 0:
        return "the peer tier needs root (network, mount and PID namespaces)"
    if version == "9.0":
        for tool in ("libvirtd", "virsh", "dnsmasq", "iptables-nft-save", "nft", "nsenter", "unshare"):
            if shutil.which(tool, path=EXEC_ENV["PATH"]) is None:
                return f"{tool} is missing: run tests/peer/setup-peer.sh"
        for user in ("libvirt-qemu",):
            if subprocess.run(["getent", "passwd", user], capture_output=True).returncode != 0:
                return f"user {user} is missing: run tests/peer/setup-peer.sh"
        for d in ("/etc/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt"):
            if not os.path.isdir(d):
                return f"{d} is missing (a mount point for the peer): run tests/peer/setup-peer.sh"
        return None
    if version in ROOTS:
        stamp = ROOTS[version] / ".vnm-peer-stamp"
        if not stamp.is_file() or not stamp.read_text().startswith(ROOT_STAMPS[version]):
            return f"no peer root for libvirt {version} at {ROOTS[version]}: run tests/peer/setup-peer.sh"
        return None
    return f"unknown libvirt version {version!r}"


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(argv, **kw)


def _netns_pids(netns: str) -> list[int]:
    proc = _run(["ip", "netns", "pids", netns])
    return [int(p) for p in proc.stdout.split()] if proc.returncode == 0 else []


def _kill_netns(netns: str, state_dir: Path | None) -> None:
    """Kill every process in the network namespace, delete it and the state directory."""
    deadline = time.monotonic() + 10
    while (pids := _netns_pids(netns)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    _run(["ip", "netns", "delete", netns])
    if state_dir is not None and state_dir.is_dir():
        shutil.rmtree(state_dir, ignore_errors=True)


def _running(pid: int) -> bool:
    """Alive and not a zombie (this machine's PID 1 never reaps killed orphans)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def sweep_stale() -> list[str]:
    """Remove peers whose owning process is gone (a run killed with SIGKILL). Returns names."""
    swept = []
    listing = _run(["ip", "netns", "list"]).stdout
    names = {line.split()[0] for line in listing.splitlines() if line.strip()}
    if STATE_BASE.is_dir():
        names |= {p.name for p in STATE_BASE.iterdir()}
    for name in sorted(names):
        m = re.fullmatch(re.escape(NETNS_PREFIX) + r"(\d+)-[0-9a-f]+", name)
        if not m or _running(int(m.group(1))):
            continue
        _kill_netns(name, STATE_BASE / name)
        swept.append(name)
    return swept


def _host_pid(ns_pid: int, pidns: str) -> int | None:
    """The pid, as this machine sees it, of the process `ns_pid` in PID namespace `pidns`."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != pidns:
                continue
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("NSpid:") and int(line.split()[-1]) == ns_pid:
                        return int(entry)
        except (OSError, ValueError):
            continue
    return None


class PeerLibvirt:
    """One real libvirt network daemon in its own namespaces (a context manager)."""

    def __init__(self, version: str = "11.3", backend: str | None = None, *, tc_shim: bool = True):
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {VERSIONS}, not {version!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if version == "9.0" and backend == "nftables":
            raise ValueError("libvirt 9.0 has no nftables backend (it arrived in 10.4)")
        self.version = version
        self.backend = backend
        self.tc_shim = tc_shim and version in ROOTS
        self.netns = f"{NETNS_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self.state_dir = STATE_BASE / self.netns
        self.root = ROOTS.get(version, Path("/"))
        self.holder_pid: int | None = None
        self._holder: subprocess.Popen | None = None
        self._owner = True
        self._old_sigterm = None

    # -- where things are, as seen from this machine's root mount namespace ----------
    @property
    def etc_libvirt(self) -> Path:
        return self.state_dir / "etc/libvirt"

    @property
    def run_libvirt(self) -> Path:
        return self.state_dir / "run/libvirt"

    @property
    def var_lib_libvirt(self) -> Path:
        return self.state_dir / "var/lib/libvirt"

    @property
    def daemon_log_path(self) -> Path:
        return self.state_dir / "var/log/libvirt/libvirtd.log"

    @property
    def tc_log_path(self) -> Path:
        return self.state_dir / "run/vnm-peer/tc.log"

    # -- life cycle --------------------------------------------------------------
    def __enter__(self) -> "PeerLibvirt":
        reason = unavailable_reason(self.version)
        if reason:
            raise PeerUnavailable(reason)
        sweep_stale()
        self._trap_sigterm()
        try:
            self._create()
            self.start_daemon()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _trap_sigterm(self) -> None:
        # SIGTERM's default action would skip our clean-up; turn it into SystemExit so
        # the with-statement unwinds (only possible from the main thread).
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            def _raise(signum, frame):
                raise SystemExit(128 + signum)
            self._old_sigterm = signal.signal(signal.SIGTERM, _raise)

    def close(self) -> None:
        """Stop everything: daemon, dnsmasq, holder, namespaces, mounts, state. Idempotent."""
        if not self._owner:
            return
        if self._holder is not None:
            # The holder is PID 1 of the peer's PID namespace: killing it makes the kernel
            # kill libvirtd, dnsmasq and anything else in there; the mount namespace (and
            # with it every bind mount) goes away with the last of them.
            if self.holder_pid:
                try:
                    os.kill(self.holder_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self._holder.stdin.close()
            except OSError:
                pass
            try:
                self._holder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._holder.kill()
                self._holder.wait(timeout=10)
            self._holder.stdout.close()
            self._holder = None
        _kill_netns(self.netns, self.state_dir)
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None

    @classmethod
    def attach(cls, state_dir: str | os.PathLike) -> "PeerLibvirt":
        """A handle on a peer started by another process (does not own it: close() is a no-op)."""
        info = json.loads((Path(state_dir) / "peer.json").read_text())
        peer = cls(info["version"], info["backend"], tc_shim=info["tc_shim"])
        peer.netns = info["netns"]
        peer.state_dir = Path(state_dir)
        peer.holder_pid = info["holder_pid"]
        peer._owner = False
        return peer

    def _create(self) -> None:
        s = self.state_dir
        s.mkdir(parents=True)
        for d in (*_LIBVIRT_DIRS, "run/vnm-peer"):
            (s / d).mkdir(parents=True, exist_ok=True)
        self._seed_etc_libvirt()
        if self.tc_shim:
            shutil.copy(HERE / "tc-shim.sh", s / "tc-shim")
            os.chmod(s / "tc-shim", 0o755)
            (s / "run/vnm-peer/tc.real").touch()
            self.tc_log_path.touch()
        proc = _run(["ip", "netns", "add", self.netns])
        if proc.returncode != 0:
            raise PeerError(f"ip netns add {self.netns}: {proc.stderr.strip()}")
        _run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"])
        spec = {"mounts": self._mount_plan()}
        self._holder = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.netns}",
             "unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
             "/usr/bin/python3", str(HERE / "holder.py"), json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self._read_holder_line(timeout=15)
        if line != "ready":
            raise PeerError(f"peer holder failed: {line or 'no answer'}")
        self.holder_pid = self._find_holder_pid()
        (s / "peer.json").write_text(json.dumps({
            "version": self.version, "backend": self.backend, "tc_shim": self.tc_shim,
            "netns": self.netns, "holder_pid": self.holder_pid}, indent=1) + "\n")

    def _read_holder_line(self, timeout: float) -> str:
        ready, _, _ = select.select([self._holder.stdout], [], [], timeout)
        if not ready:
            return ""
        return self._holder.stdout.readline().strip()

    def _find_holder_pid(self) -> int:
        # unshare --fork: the holder is unshare's only child (PID 1 inside, another pid here).
        upid = self._holder.pid
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                kids = Path(f"/proc/{upid}/task/{upid}/children").read_text().split()
            except OSError:
                kids = []
            if kids:
                return int(kids[0])
            time.sleep(0.02)
        raise PeerError("cannot find the peer holder process")

    def _mount_plan(self) -> list[list[str]]:
        s, r = str(self.state_dir), str(self.root).rstrip("/")
        plan: list[list[str]] = [["private", "/"]]
        if self.version in ROOTS:
            plan += [["bind", r, r], ["ro", r],
                     ["proc", f"{r}/proc"], ["sysfs", f"{r}/sys"], ["rbind", "/dev", f"{r}/dev"],
                     ["tmpfs", f"{r}/tmp"]]
        else:
            # The machine's own / read-only for everything in the peer; a fresh /proc for
            # the PID namespace and a fresh /sys showing the netns's interfaces.
            plan += [["tmpfs", "/tmp"], ["proc", "/proc"], ["umount", "/sys"], ["sysfs", "/sys"]]
        for d in _LIBVIRT_DIRS:
            plan.append(["bind", f"{s}/{d}", f"{r}/{d}"])
        if self.version in ROOTS:
            plan.append(["bind", f"{s}/run", f"{r}/run"])
            if self.tc_shim:
                # The real tc stays reachable for the shim at /run/vnm-peer/tc.real.
                plan += [["bind", f"{r}/usr/sbin/tc", f"{r}/run/vnm-peer/tc.real"],
                         ["bind", f"{s}/tc-shim", f"{r}/usr/sbin/tc"]]
        else:
            # /run last: the state dir itself lives under this machine's /run.
            plan += [["bind", f"{s}/run", "/run"], ["ro", "/"]]
        return plan

    def _seed_etc_libvirt(self) -> None:
        # 11.3, 12.9: the package's own /etc/libvirt (commented defaults, as a fresh install
        # has); 9.0: empty (this machine's /etc/libvirt is never read).
        if self.version in ROOTS:
            shutil.copytree(self.root / "etc/libvirt", self.etc_libvirt, dirs_exist_ok=True,
                            symlinks=True)
        conf = self.etc_libvirt / "libvirtd.conf"
        text = conf.read_text() if conf.exists() else ""
        # A daemonized libvirtd logs to journald/syslog, neither of which runs here.
        conf.write_text(text + '\n# vnetmigrate peer tier\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')
        self.set_backend(self.backend)

    # -- configuration -------------------------------------------------------------
    def set_backend(self, backend: str | None) -> None:
        """Write network.conf's firewall_backend (None: leave it unset). Takes effect at the
        next restart_daemon(), as on a real host."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}")
        if self.version == "9.0":
            if backend == "nftables":
                raise ValueError("libvirt 9.0 has no nftables backend")
            self.backend = backend
            return  # 9.0 has no network.conf: iptables is its only backend
        conf = self.etc_libvirt / "network.conf"
        default = (self.root / "etc/libvirt/network.conf").read_text()
        if backend is not None:
            default += f'\nfirewall_backend = "{backend}"\n'
        conf.write_text(default)
        self.backend = backend

    # -- running things inside -------------------------------------------------------
    def _prefix(self) -> list[str]:
        if not self.holder_pid:
            raise PeerError("the peer is not running")
        argv = ["nsenter", f"--target={self.holder_pid}", "--mount", "--net", "--pid"]
        if self.version in ROOTS:
            argv += ["chroot", str(self.root)]
        return argv

    def exec_argv(self, argv: list[str]) -> list[str]:
        """The argv that runs `argv` inside the peer (its namespaces, and its root for 11.3/12.9)."""
        return [*self._prefix(), *argv]

    def exec(self, argv: list[str], *, check: bool = False, input: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command inside the peer; text output captured."""
        kw = {"input": input} if input is not None else {}
        proc = _run(self.exec_argv(argv), env=EXEC_ENV, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise PeerError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def virsh(self, *args: str, input: str | None = None) -> str:
        argv = ["virsh", "-q", "-c", URI, *args]
        proc = self.exec(argv, input=input)
        if proc.returncode != 0:
            raise VirshError(argv, proc)
        return proc.stdout

    # -- the daemon ------------------------------------------------------------------
    def _daemon_ns_pid(self) -> int | None:
        try:
            return int((self.state_dir / "run/libvirtd.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def daemon_pid(self) -> int | None:
        """libvirtd's pid as this machine sees it, or None if it is not running."""
        ns_pid = self._daemon_ns_pid()
        if ns_pid is None or not self.holder_pid:
            return None
        try:
            pidns = os.readlink(f"/proc/{self.holder_pid}/ns/pid")
        except OSError:
            return None
        return _host_pid(ns_pid, pidns)

    def start_daemon(self) -> None:
        # --daemon: the parent returns once the daemon has initialised (or failed).
        start = time.monotonic()
        proc = self.exec(["libvirtd", "--daemon"], timeout=START_TIMEOUT)
        if proc.returncode != 0:
            raise PeerError(f"libvirtd --daemon: exit {proc.returncode}: {proc.stderr.strip()}\n"
                            f"{self.daemon_log()}")
        last = ""
        while time.monotonic() - start < START_TIMEOUT:
            probe = self.exec(["virsh", "-q", "-c", URI, "net-list", "--all"])
            if probe.returncode == 0:
                self.daemon_started_in = time.monotonic() - start
                return
            last = probe.stderr.strip()
            time.sleep(0.05)
        raise PeerError(f"libvirtd {self.version} did not answer within {START_TIMEOUT:.0f} s: {last}\n"
                        f"{self.daemon_log()}")

    def stop_daemon(self, timeout: float = 15) -> None:
        """SIGTERM libvirtd, as `systemctl stop` would; networks stay up, as on a host."""
        pid = self.daemon_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists():
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline += 5
            time.sleep(0.02)

    def restart_daemon(self) -> None:
        self.stop_daemon()
        self.start_daemon()

    def restart_command(self) -> list[str]:
        """An argv that restarts this peer's daemon from any process (e.g. a tool's
        --restart-command); it exits 0 once the new daemon answers."""
        return [sys.executable, str(Path(__file__).resolve()), "restart", str(self.state_dir)]

    def daemon_log(self) -> str:
        try:
            return self.daemon_log_path.read_text()
        except OSError:
            return ""

    # -- networks --------------------------------------------------------------------
    def define(self, xml_text: str) -> str:
        name = ET.fromstring(xml_text).findtext("name")
        if not name:
            raise ValueError("network XML without <name>")
        # /dev/stdin: the XML never has to exist on a path the daemon's namespace sees.
        self.virsh("net-define", "/dev/stdin", input=xml_text)
        return name

    def start(self, name: str) -> None:
        self.virsh("net-start", name)

    def define_and_start(self, xml_text: str) -> str:
        name = self.define(xml_text)
        self.start(name)
        return name

    def destroy(self, name: str) -> None:
        self.virsh("net-destroy", name)

    def undefine(self, name: str) -> None:
        self.virsh("net-undefine", name)

    def net_list(self) -> list[dict]:
        """[{name, state, autostart, persistent}] of every network the daemon knows."""
        nets = []
        for line in self.virsh("net-list", "--all").splitlines():
            parts = line.split()
            if len(parts) == 4:
                nets.append(dict(zip(("name", "state", "autostart", "persistent"), parts)))
        return nets

    def status_xml(self, name: str) -> str | None:
        """/run/libvirt/network/NAME.xml (the status file with the fwRemoval recipe)."""
        try:
            return (self.run_libvirt / "network" / f"{name}.xml").read_text()
        except FileNotFoundError:
            return None

    def destroy_all(self, undefine: bool = True) -> None:
        for net in self.net_list():
            if net["state"] == "active":
                self.destroy(net["name"])
            if undefine and net["persistent"] == "yes":
                self.undefine(net["name"])

    # -- kernel state inside the peer -------------------------------------------------
    def nft_ruleset_text(self) -> str:
        return self.exec(["nft", "list", "ruleset"], check=True).stdout

    def nft_ruleset_json(self) -> dict:
        return json.loads(self.exec(["nft", "-j", "list", "ruleset"], check=True).stdout)

    def nft_ruleset_json_with_handles(self) -> dict:
        return json.loads(self.exec(["nft", "-j", "-a", "list", "ruleset"], check=True).stdout)

    def iptables_save(self) -> str:
        return self.exec(["iptables-nft-save"], check=True).stdout

    def ip6tables_save(self) -> str:
        return self.exec(["ip6tables-nft-save"], check=True).stdout

    def tc_qdisc_text(self) -> str:
        """`tc qdisc show` (libvirt 11.x gives each bridge a root htb qdisc for its DHCP
        checksum filter). Run with the real tc, so the listing stays out of the shim's log."""
        tc = "/run/vnm-peer/tc.real" if self.tc_shim else "tc"
        return self.exec([tc, "qdisc", "show"], check=True).stdout

    def tc_log(self) -> str | None:
        """What libvirt asked of tc (see tc-shim.sh); None where no shim is used (9.0)."""
        if not self.tc_shim:
            return None
        try:
            return self.tc_log_path.read_text()
        except FileNotFoundError:
            return ""

    def clear_tc_log(self) -> None:
        if self.tc_shim:
            self.tc_log_path.write_text("")

    def links(self) -> list[str]:
        out = self.exec(["ip", "-o", "link", "show"], check=True).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]

    def add_link(self, name: str, kind: str) -> None:
        """Create an interface inside the peer and bring it up. kind "veth" makes a pair
        whose other end is NAMEp (this kernel has no dummy driver); others as `ip link`."""
        argv = ["ip", "link", "add", name, "type", kind]
        if kind == "veth":
            argv += ["peer", "name", f"{name}p"]
        self.exec(argv, check=True)
        self.exec(["ip", "link", "set", name, "up"], check=True)

    def reset(self) -> None:
        """Back to a freshly installed host: no networks, empty ruleset, no links but lo,
        a new daemon process (libvirt sets up its private chains/tables once per process,
        so after flushing them the daemon must start again)."""
        self.destroy_all()
        self.stop_daemon()
        self.exec(["nft", "flush", "ruleset"], check=True)
        for link in self.links():
            if link != "lo":
                self.exec(["ip", "link", "del", link])
        self.clear_tc_log()
        self.start_daemon()


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "restart":
        PeerLibvirt.attach(argv[1]).restart_daemon()
        return 0
    print("usage: libvirtd.py restart STATE_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
