"""Command-line interface (placeholder until the scan command lands)."""


def main() -> None:  # pragma: no cover - replaced by the typer app
    raise SystemExit("vnetmigrate: not yet built")
