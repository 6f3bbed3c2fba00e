"""`enclave upgrade check FILE`: check an upgrade bundle (copied by USB or scp) as an upgrade would, and say what
it holds: the version, the required stop, the changes since the running version, its size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

upgrade_app = typer.Typer(help='Upgrades from a signed offline bundle.', no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `upgrade` to the `enclave` app."""
    app.add_typer(upgrade_app, name='upgrade')


@upgrade_app.command('check')
def check(
    bundle: Annotated[Path, typer.Argument(metavar='FILE', help='enclave-<version>-bundle.tar')],
    running: Annotated[
        str, typer.Option('--running', help='Check against this version instead of the installed one.')
    ] = '',
    release_key: Annotated[
        Path | None,
        typer.Option('--release-key', help="Check against this public key (PEM) instead of the product's release key."),
    ] = None,
) -> None:
    """Check the bundle's signature, every file's checksum and the versions; nothing is unpacked or changed."""
    from appliance import __version__
    from appliance.errors import ServiceError
    from appliance.fsutil import format_size
    from appliance.operator import fail
    from console.upgrade import services

    if not bundle.is_file():
        fail(f'There is no file {bundle}.')
    try:
        key = services.release_key(release_key.read_bytes() if release_key else None)
    except (OSError, ValueError) as error:
        fail(f'Cannot read the release key {release_key}: {error}')
    current = running or __version__
    try:
        facts = services.check_bundle(bundle, running=current, public_key=key)
    except ServiceError as error:
        fail(str(error))
    typer.echo(f'Bundle verified: Enclave {facts.version} (upgrades from {facts.upgrade_from} or newer).')
    typer.echo(
        f'{facts.files} files, {format_size(facts.bytes)}; the installed release takes about '
        f'{format_size(facts.install_bytes)}.'
    )
    changes = services.changes_between(facts.changelog, current, facts.version)
    typer.echo(f'\nChanges since {current}:\n' + (changes or '(the bundle lists none)'))
