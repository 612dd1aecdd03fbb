"""The pre-upgrade gate's package-manager side: which packages carry libvirt's network driver,
what apt and dnf tell a hook about a transaction, the gate's policy file, and the hook files
`vnetmigrate gate install` writes. The decision itself is vnetmigrate.usecases.gate."""
