"""Parsed IP networks, cached: scans of big hosts parse the same few subnets thousands of times
(rules, probes, the model's expectations), and ipaddress objects are immutable."""

from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=8192)
def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """ipaddress.ip_network(text, strict=False), once per distinct text."""
    return ipaddress.ip_network(text, strict=False)


@functools.lru_cache(maxsize=8192)
def network_text(text: str) -> str:
    """str(network(text)), once per distinct text (rule keys compare subnets as text)."""
    return str(network(text))
