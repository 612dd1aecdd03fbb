"""The commands that change the host or read its journals, as use cases: plan, migrate,
rollback, history (scan's counterpart is vnetmigrate/scan.py).

Each takes its options, does the preparation, gathers the blockers and gates, and returns a
typed, frozen result. The CLI (vnetmigrate/cli/) only parses options and hands the result to
the renderers in vnetmigrate.reports; nothing here prints.
"""
