"""What the running kernel offers libvirt's nftables backend."""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import (BOOT_CONFIG_T, KERNEL_CONFIG, MODULES_BUILTIN_T, NETFILTER_MODULES_T,
                               SCHED_MODULES_T)


@dataclass(frozen=True)
class Feature:
    """One kernel configuration option and where its state was read."""
    name: str  # CONFIG_ name
    state: str | None  # "y", "m", "n" or None (unknown)
    where: str  # the evidence: config file line or module file


@dataclass(frozen=True)
class KernelFacts:
    """The kernel's release and the configuration options the checks need."""
    release: str | None
    config_source: str | None  # the file the configuration came from, None when unreadable
    features: dict[str, Feature]
    # The x_tables modules libvirt's iptables backend loads (its CHECKSUM, conntrack and
    # MASQUERADE rules), present (file or built in) or not; None when net/netfilter was not read.
    xt_modules: dict[str, bool] | None = None

    @property
    def xt_missing(self) -> tuple[str, ...]:
        return tuple(m for m, present in (self.xt_modules or {}).items() if not present)

    def state(self, config: str) -> str | None:
        f = self.features.get(config)
        return f.state if f else None


XT_MODULES = ("xt_CHECKSUM", "xt_conntrack", "xt_MASQUERADE")
MODULES = {"CONFIG_NF_TABLES": "nf_tables", "CONFIG_NET_ACT_CSUM": "act_csum", "CONFIG_NET_CLS_U32": "cls_u32",
           "CONFIG_NET_SCH_HTB": "sch_htb"}


def _parse_config(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            out[key] = value.strip()
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:].split()[0]] = "n"
    return out


def build(ev: Evidence) -> KernelFacts:
    release = ev.meta.get("kernel_release")
    source, config = None, {}
    for path in (KERNEL_CONFIG, BOOT_CONFIG_T.format(release=release)):
        text = ev.text(path)
        if text:
            source, config = path, _parse_config(text)
            break
    sched_dir = SCHED_MODULES_T.format(release=release)
    sched = set(ev.listing(sched_dir) or [])
    builtin_path = MODULES_BUILTIN_T.format(release=release)
    builtin = ev.text(builtin_path) or ""
    features = {}
    for key, module in MODULES.items():
        state, where = config.get(key), f"{source}: {key}={config.get(key, 'absent')}" if source else ""
        if key in config and source and config[key] == "n" or (source and key not in config):
            state = "n"
        if state in (None, "n"):
            if any(n.split(".")[0] == module for n in sched):
                state, where = "m", f"{sched_dir}/{module}.ko"
            elif f"/{module}.ko" in builtin:
                state, where = "y", f"{builtin_path}: {module}"
        features[key] = Feature(key, state, where)
    netfilter = ev.listing(NETFILTER_MODULES_T.format(release=release))
    xt = None
    if netfilter is not None:
        names = {n.split(".")[0] for n in netfilter}
        xt = {m: m in names or f"/{m}.ko" in builtin for m in XT_MODULES}
    return KernelFacts(release, source, features, xt)


def rhel10_xt_missing(kernel: KernelFacts | None, os) -> tuple[str, ...]:
    """The xt modules libvirt's iptables backend needs that a RHEL 10 (or rebuild) host lacks:
    there iptables-nft needs them from kernel-modules-extra, which a default install leaves out.
    Empty elsewhere, and when the modules directory could not be read."""
    if kernel is None or os is None:
        return ()
    rhel = os.id in ("rhel", "centos", "rocky", "almalinux", "ol") or "rhel" in os.id_like
    try:
        major = int((os.version_id or "0").split(".")[0])
    except ValueError:
        major = 0
    return kernel.xt_missing if rhel and major >= 10 else ()
