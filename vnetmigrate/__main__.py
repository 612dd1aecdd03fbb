from vnetmigrate.cli import main

main()
