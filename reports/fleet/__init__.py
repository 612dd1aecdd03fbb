"""The fleet report: many hosts' saved scans aggregated into one (`vnetmigrate fleet`).

    sources.py    which files and evidence directories are hosts; load and check each one
    summary.py    one host's scan envelope -> the few fields the fleet report keeps (HostSummary)
    aggregate.py  HostSummaries and per-file errors -> the fleet envelope (`data` of fleet-v1)
    view.py       what every fleet renderer shows, shared wording
    terminal.py, markdown.py, html.py   the formats; render.py picks one

Host files are read one at a time and reduced to a HostSummary at once, so 10,000 hosts cost
10,000 small records, never 10,000 envelopes in memory.
"""
