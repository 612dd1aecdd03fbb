"""docs/benchmarks.md's generator (tests/bench/table.py) renders what the benchmarks wrote.

The inputs are the JSON files of a real run on this machine (tests/data/bench/, written by
`python -m tests.bench.table --keep DIR`), replayed: every figure lands in its row with its
ratio and goal mark, and a section whose benchmark was not run keeps its old text.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench import table

DATA = Path(__file__).resolve().parents[1] / "data" / "bench"


def recorded(name: str) -> dict:
    doc = table.load(DATA / f"{name}.json")
    assert doc is not None
    return doc


def test_every_migration_figure_lands_in_its_row_with_its_ratios():
    doc = recorded("migrate")
    text = table.render({"migrate": doc})
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.split("|")[1].strip().isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == [row["networks"] for row in doc["rows"]]
    for line, row in zip(rows, doc["rows"]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2].startswith(table.seconds(row["figures"]["migrate"]))
        assert cells[3] == table.seconds(row["figures"]["per_rule_nft"])
        assert cells[4].startswith(table.ratio(row["ratios"]["per_rule_nft / migrate"]))
        assert cells[7].startswith(table.ratio(row["ratios"]["nft_step / nft_f"]))
        if row["networks"] == 100:  # the goal is marked where the issue sets it
            assert cells[4].endswith("✓" if row["ratios"]["per_rule_nft / migrate"] >= 10 else "✗")
    assert f"load average (1, 5, 15 min) {doc['load']['before']}" in text


def test_start_up_rows_and_a_section_not_rerun_keeps_its_old_text(tmp_path):
    old = table.render({"migrate": recorded("migrate"), "startup": recorded("startup")})
    startup = recorded("startup")
    assert "`vnetmigrate --help`" in old
    help_ms = startup["rows"][0]["ratios"]["vnetmigrate --help beyond bare (ms)"]
    assert f"| {help_ms:.0f} ms {'✓' if help_ms <= 60 else '✗'} |" in old
    (tmp_path / "startup.json").write_text(json.dumps(startup))
    again = table.render({"startup": table.load(tmp_path / "startup.json")}, old)
    assert again == old  # migrate's section came from the old document, unchanged


def test_scan_rows_come_from_one_object_per_host_shape_per_line(tmp_path):
    lines = [{"shape": "small", "host": "1k rules, 10 networks", "rounds": 3, "load": [1.0, 1.5],
              "commands": {"python -c pass": {"wall_s": 0.02}, "nft -j list ruleset": {"wall_s": 0.2},
                           "nft -j list chains": {"wall_s": 0.01}, "vnetmigrate scan": {"wall_s": 0.5}},
              "scan": {"wall_s": 0.5, "peak_mb": 60.0, "beyond_interpreter_s": 0.48},
              "anchor": {"command": "nft -j list ruleset", "wall_s": 0.2, "peak_mb": 30.0},
              "ratio": {"wall": 2.5, "memory": 2.0}, "goals": {"half_wall": False, "half_memory": False}}]
    (tmp_path / "scan.json").write_text("".join(json.dumps(line) + "\n" for line in lines))
    text = table.render({"scan": table.load(tmp_path / "scan.json")})
    row = next(ln for ln in text.splitlines() if ln.startswith("| 1k rules"))
    assert row == ("| 1k rules, 10 networks | 500 ms | 480 ms | 60 MB | 200 ms | 30 MB | 2.50× ✗ | 2.00× ✗ | "
                   "`nft -j list chains` 10 ms |")


def test_a_baseline_install_timed_in_the_same_rounds_gets_a_before_column(tmp_path):
    line = {"shape": "small", "host": "1k rules, 10 networks", "rounds": 3, "load": [1.0, 1.5],
            "commands": {"python -c pass": {"wall_s": 0.02}, "nft -j list ruleset": {"wall_s": 0.2},
                         "vnetmigrate scan": {"wall_s": 0.1}, "baseline scan": {"wall_s": 0.5}},
            "scan": {"wall_s": 0.1, "peak_mb": 20.0, "beyond_interpreter_s": 0.08},
            "anchor": {"command": "nft -j list ruleset", "wall_s": 0.2, "peak_mb": 30.0},
            "ratio": {"wall": 0.5, "memory": 0.67}, "goals": {"half_wall": True, "half_memory": False},
            "baseline": {"command": "/old/vnetmigrate", "wall_s": 0.5, "peak_mb": 60.0,
                         "ratio": {"wall": 2.5, "memory": 2.0}}}
    (tmp_path / "scan.json").write_text(json.dumps(line) + "\n")
    text = table.render({"scan": table.load(tmp_path / "scan.json")})
    head = next(ln for ln in text.splitlines() if ln.startswith("| host |"))
    row = next(ln for ln in text.splitlines() if ln.startswith("| 1k rules"))
    assert head.endswith("| before |")
    # the baseline's own row is not mistaken for a floor listing
    assert row.endswith("| – | 500 ms, 60 MB (2.50×, 2.00×) |")
    assert table.BEFORE_NOTE in text
