"""`vnetmigrate repair`: what the scan found, turned into steps of the transaction engine.

Each finding a repair can fix has a remedy builder in this package, registered by finding id in
`vnetmigrate.repair.remedies` (one module per kind of repair). The planner of a repair asks the
registry for every finding of the scan and gets either a `Remedy` (the steps, and why this way)
or a `NotRepairable` (why not): both are shown in the plan.
"""
