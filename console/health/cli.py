"""`enclave` commands of the console's health part: thin wrappers over the same services as the pages."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from console.health.services import RED, worst


def health(json_output: Annotated[bool, typer.Option('--json', help='Print JSON for scripts.')] = False) -> None:
    """Run the health checks the console shows; exit code 1 when any is red."""
    from appliance.modules import current_registry
    from appliance.operator import cli_settings, operator_session
    from console.health.services import run_checks

    settings = cli_settings()
    with operator_session():  # a current schema and the registry the app builds, with every enabled module
        checks = run_checks(data_dir=settings.data_dir, registry=current_registry())
    overall = worst(checks)
    if json_output:
        payload = {
            'status': overall,
            'checks': [{'name': c.name, 'status': c.status, 'message': c.message} for c in checks],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            typer.echo(f'{check.status.upper():<5}  {check.name:<{width}}  {check.message}')
    if overall == RED:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `enclave` app."""
    app.command(name='health')(health)
