"""`enclave upgrade check FILE`: check an upgrade bundle (copied by USB or scp) as an upgrade would, and say what
it holds: the version, the required stop, the changes since the running version, its size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

WithoutFreshBackup = Annotated[
    bool, typer.Option('--without-fresh-backup', help='Upgrade although no backup is younger than a day.')
]
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


def _operator_settings() -> Any:
    """The settings, with the database opened as every operator command opens it."""
    from appliance.operator import cli_settings, operator_session

    with operator_session():
        pass
    return cli_settings()


def _finished_line(item: Any) -> str:
    when = item.started_at.strftime('%Y-%m-%d %H:%M') if item.started_at else '?'
    if item.action == 'rollback':  # from the release the upgrade made back to the one before it
        versions = f'{item.to_version} -> {item.from_version}'
    else:
        versions = f'{item.from_version} -> {item.to_version}' if item.to_version else item.from_version
    took = f' in {item.duration_seconds:.0f} s' if item.duration_seconds is not None else ''
    down = f', down {item.downtime_seconds:.0f} s' if item.downtime_seconds is not None else ''
    reason = f': {item.reason}' if item.reason and item.state != 'done' else ''
    return f'{item.id}  {when} UTC  {item.action:<8} {versions:<18} {item.state}{took}{down}{reason}'


@upgrade_app.command('request')
def request(
    name: Annotated[str, typer.Argument(metavar='BUNDLE', help='A bundle in the upgrades folder (its file name).')],
    without_fresh_backup: WithoutFreshBackup = False,
) -> None:
    """Ask the upgrade service for an upgrade, after the checks the console makes (run as the app's user)."""
    from appliance.errors import ServiceError
    from appliance.operator import OPERATOR, fail
    from console.upgrade import services

    settings = _operator_settings()
    if not services.helper_installed():
        fail('This installation has no upgrade service (enclave-upgrade-request.path): run install.sh from the bundle.')
    try:
        services.request_upgrade(
            settings=settings, actor=OPERATOR, name=name, without_fresh_backup=without_fresh_backup
        )
    except ServiceError as error:
        fail(str(error))
    typer.echo(f'The upgrade with {name} is asked for; follow it with: enclave upgrade history')


@upgrade_app.command('apply')
def apply(
    bundle: Annotated[Path, typer.Argument(metavar='FILE', help='enclave-<version>-bundle.tar')],
    without_fresh_backup: WithoutFreshBackup = False,
) -> None:
    """As root: put the bundle in the upgrades folder, ask for the upgrade as the console does, and follow it to
    the end (the same checks, the same automatic rollback)."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    from appliance.operator import fail
    from console.upgrade import root_helper

    if os.geteuid() != 0:
        fail('Run this as root (sudo enclave upgrade apply FILE): an upgrade installs a release.')
    box = root_helper.Box.from_env()
    name = bundle.name
    if not root_helper.BUNDLE_NAME.fullmatch(name) or not bundle.is_file():
        fail(f'{bundle} is not an upgrade bundle (enclave-<version>-bundle.tar).')
    target = box.data / 'upgrades' / name
    if bundle.resolve() != target.resolve():
        target.parent.mkdir(exist_ok=True)
        partial = target.with_name(f'.incoming-apply-{os.getpid()}')
        shutil.copyfile(bundle, partial)
        shutil.chown(partial, box.run_as, box.run_as)
        os.replace(partial, target)
    seen = {item.name for item in (box.requests / 'history').glob('*.json')} if box.requests.exists() else set()
    argv = [sys.argv[0], 'upgrade', 'request', name] + (['--without-fresh-backup'] if without_fresh_backup else [])
    asked = subprocess.run(  # noqa: S603 - our own command, as the app's user
        ['/usr/sbin/runuser', '-u', box.run_as, '--', *argv], env=root_helper.app_env(box), check=False
    )
    if asked.returncode != 0:
        raise typer.Exit(asked.returncode)
    deadline = time.monotonic() + 4 * 3600
    while time.monotonic() < deadline:
        new = sorted({item.name for item in (box.requests / 'history').glob('*.json')} - seen)
        if new:
            record = json.loads((box.requests / 'history' / new[-1]).read_text(encoding='utf-8'))
            typer.echo('\n'.join(record.get('log', [])))
            typer.echo(f'\n{record.get("action")} {record.get("id")}: {record.get("state")}')
            raise typer.Exit(0 if record.get('state') == 'done' else 1)
        time.sleep(2)
    fail('The upgrade service did not finish within 4 hours: systemctl status enclave-upgrade-request.service')


@upgrade_app.command('rollback')
def rollback(yes: Annotated[bool, typer.Option('--yes', help='Do not ask.')] = False) -> None:
    """Ask for the rollback of the upgrade that installed the running release (run as the app's user)."""
    from appliance.errors import ServiceError
    from appliance.operator import OPERATOR, fail
    from console.upgrade import services

    settings = _operator_settings()
    offer = services.rollback_offer(settings)
    if offer is None:
        fail('There is no upgrade to roll back: the running release was not installed by one, or its snapshot is gone.')
    if not yes:
        typer.confirm(
            f'Roll back to Enclave {offer.from_version}? Everything changed since the upgrade is no longer in '
            'Enclave (it is kept aside, not deleted).',
            abort=True,
        )
    try:
        services.request_rollback(settings=settings, actor=OPERATOR, upgrade_id=offer.id)
    except ServiceError as error:
        fail(str(error))
    typer.echo(f'The rollback to {offer.from_version} is asked for; follow it with: enclave upgrade history')


@upgrade_app.command('history')
def history(json_output: Annotated[bool, typer.Option('--json', help='Print JSON for scripts.')] = False) -> None:
    """Every upgrade, rollback and refused request, newest first, and what is under way now."""
    from dataclasses import asdict

    from console.upgrade import services

    settings = _operator_settings()
    services.record_finished(settings)
    found = services.history(settings)
    now = services.pending(settings)
    if json_output:
        typer.echo(json.dumps([asdict(item) for item in found], default=str, ensure_ascii=False, indent=2))
        return
    if now is not None:
        typer.echo(f'Under way: {now.action or "a request"} (last step: {now.steps[-1] if now.steps else "none yet"})')
    if not found:
        typer.echo('No upgrade yet.')
    for item in found:
        typer.echo(_finished_line(item))
