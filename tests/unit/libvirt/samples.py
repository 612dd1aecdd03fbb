"""Network definitions exercising every rule shape, for tests that compare the model with
itself through the kernel (text vs JSON, incremental vs at once). Expected listings come
only from recordings of real libvirt (tests/data/libvirt), never from here."""

from vnetmigrate.libvirt import parse_network

SAMPLES = {
    "nat-dev-snat": """<network><name>a</name><forward mode='nat' dev='wan0'><nat>
        <address start='203.0.113.10' end='203.0.113.20'/><port start='2000' end='3000'/></nat></forward>
        <bridge name='vnmbr1'/><ip address='10.11.0.1' prefix='24'>
        <dhcp><range start='10.11.0.10' end='10.11.0.20'/></dhcp><tftp root='/srv'/></ip>
        <ip family='ipv6' address='fd11::1' prefix='64'/></network>""",
    "nat6-masq": """<network ipv6='yes'><name>b</name><forward mode='nat'><nat ipv6='yes'>
        <address start='203.0.113.5' end='203.0.113.5'/></nat></forward><bridge name='vnmbr2'/>
        <ip address='10.12.0.1' netmask='255.255.0.0'/><ip family='ipv6' address='fd12::1' prefix='56'/></network>""",
    "route-dev": """<network><name>c</name><forward mode='route'><interface dev='wan0'/></forward>
        <bridge name='vnmbr3'/><ip address='10.13.0.1' prefix='28'/><ip family='ipv6' address='fd13::1'/></network>""",
    "isolated-nogw": """<network ipv6='yes'><name>d</name><bridge name='vnmbr4'/></network>""",
    "open": """<network><name>e</name><forward mode='open'/><bridge name='vnmbr5'/>
        <ip address='10.15.0.1' prefix='24'/></network>""",
}


def sample_networks():
    return [parse_network(text, f"samples/{name}") for name, text in SAMPLES.items()]


def bridges(networks):
    return [n.bridge for n in networks if n.bridge]
