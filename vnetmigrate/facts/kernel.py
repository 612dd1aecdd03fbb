"""What the running kernel offers libvirt's nftables backend."""

from __future__ import annotations

from dataclasses import dataclass

from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import BOOT_CONFIG_T, KERNEL_CONFIG, MODULES_BUILTIN_T, SCHED_MODULES_T


@dataclass(frozen=True)
class Feature:
    name: str  # CONFIG_ name
    state: str | None  # "y", "m", "n" or None (unknown)
    where: str  # the evidence: config file line or module file


@dataclass(frozen=True)
class KernelFacts:
    release: str | None
    config_source: str | None  # the file the configuration came from, None when unreadable
    features: dict[str, Feature]

    def state(self, config: str) -> str | None:
        f = self.features.get(config)
        return f.state if f else None


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
    return KernelFacts(release, source, features)
