"""The console's CLI commands, added to `enclave`: each part registers its own (backup, health, license, logs)."""

from __future__ import annotations

import typer

from console import cli_backup, cli_health, cli_license


def register(app: typer.Typer) -> None:
    """Add the console's commands and groups to the `enclave` app."""
    for part in (cli_backup, cli_health, cli_license):
        part.register(app)
