from vnetmigrate.cli import entry

entry()
