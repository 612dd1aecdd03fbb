"""vnetmigrate: inspect, migrate and repair libvirt's virtual-network firewall."""

__version__ = "0.1.0"
