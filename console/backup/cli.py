"""`enclave backup ...` and `enclave restore`: thin wrappers over console.targets, console.runs and console.restore.

The commands act as the operator (audited as 'cli') and take the same maintenance lock as the console, so a
backup started here and one started in the browser never overlap: the second is refused naming the first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from appliance.errors import ServiceError
from appliance.fsutil import format_size

backup_app = typer.Typer(help='Backups: targets, runs, history, checks and restore drills.', no_args_is_help=True)
target_app = typer.Typer(help='Backup targets (restic repositories).', no_args_is_help=True)
backup_app.add_typer(target_app, name='target')

JsonOption = Annotated[bool, typer.Option('--json', help='Print JSON for scripts.')]
TargetOption = Annotated[str, typer.Option('--target', help='Target name (default: the first enabled target).')]


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _registry() -> Any:
    from appliance.modules import current_registry

    return current_registry()


def _operate(body: Any) -> Any:
    """Open the database as the CLI does (schema current, registry built), run `body()`, print service errors."""
    from appliance.operator import fail, operator_session

    with operator_session():
        pass
    try:
        return body()
    except ServiceError as error:
        fail(str(error))


@target_app.command('add')
def target_add(
    name: Annotated[str, typer.Option('--name', help='A short name, e.g. usb-disk.')],
    repo: Annotated[str, typer.Option('--repo', help='A path, sftp:user@host:/path, rest:URL or s3:host/bucket.')],
    password_file: Annotated[
        Path | None,
        typer.Option('--password-file', help="An existing repository's password (from its recovery kit)."),
    ] = None,
    password_stdin: Annotated[bool, typer.Option('--password-stdin', help='Read that password from stdin.')] = False,
    env: Annotated[
        list[str] | None, typer.Option('--env', help='KEY=VALUE for s3 (AWS_ACCESS_KEY_ID, ...); repeatable.')
    ] = None,
) -> None:
    """Add a target; creates the repository with a generated password, or adopts one given its password."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR, fail, operator_session
    from console.backup import services

    password = ''
    if password_file is not None:
        try:
            password = password_file.read_text(encoding='utf-8').strip()
        except OSError as error:
            fail(f'Cannot read {password_file}: {error.strerror}')
    elif password_stdin:
        password = sys.stdin.readline().rstrip('\r\n')
    environment: dict[str, str] = {}
    for item in env or []:
        key, sep, value = item.partition('=')
        if not sep:
            fail(f'--env takes KEY=VALUE, not "{item}".')
        environment[key.strip()] = value
    data_dir = get_settings().data_dir
    with operator_session() as session:
        services.check_new_target(session=session, actor=OPERATOR, data_dir=data_dir, name=name, repository=repo)
    # restic may take minutes: never while holding the database's write lock, which the running app needs.
    try:
        prepared = services.prepare_target(
            actor=OPERATOR, data_dir=data_dir, name=name, repository=repo, password=password, environment=environment
        )
    except ServiceError as error:
        fail(str(error))
    with operator_session() as session:
        target = services.record_target(session=session, actor=OPERATOR, data_dir=data_dir, prepared=prepared)
        typer.echo(f'Target "{target.name}" added: {services.redact(target.repository)}')
    if not password:
        typer.echo('Download its recovery kit now: enclave backup kit --target ' + name + ' > kit.txt')


@target_app.command('list')
def target_list(json_output: JsonOption = False) -> None:
    """List the targets with their schedules and retention."""
    from appliance.operator import OPERATOR, operator_session
    from console.backup import services

    with operator_session() as session:
        rows = [
            {
                'name': t.name,
                'repository': services.redact(t.repository),
                'enabled': t.enabled,
                'backup': t.backup_cron,
                'keep': f'{t.keep_daily}d {t.keep_weekly}w {t.keep_monthly}m',
                'check': t.check_cron,
                'read_data': f'{t.read_data_cron} ({t.read_data_subset})',
                'drill': t.drill_cron,
                'kit_downloaded_at': t.kit_downloaded_at.isoformat() if t.kit_downloaded_at else None,
            }
            for t in services.list_targets(session=session, actor=OPERATOR)
        ]
    if json_output:
        _echo_json(rows)
        return
    if not rows:
        typer.echo('No backup target yet: enclave backup target add --name NAME --repo REPO')
    for row in rows:
        typer.echo(f'{row["name"]:<16} {row["repository"]}  backup "{row["backup"]}"  keep {row["keep"]}')


@target_app.command('remove')
def target_remove(name: str, yes: Annotated[bool, typer.Option('--yes', help='Do not ask.')] = False) -> None:
    """Forget a target (its repository and snapshots stay where they are)."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR, operator_session
    from console.backup import services

    if not yes:
        typer.confirm(f'Forget target "{name}"? Its repository stays where it is.', abort=True)
    with operator_session() as session:
        services.remove_target(session=session, actor=OPERATOR, data_dir=get_settings().data_dir, name=name)
    typer.echo(f'Target "{name}" removed; its repository was left untouched.')


def _print_run(view: Any, json_output: bool) -> None:
    if json_output:
        _echo_json(view.to_json())
    else:
        line = f'{view.kind} of {view.target}: {view.status}'
        if view.snapshot_id:
            line += f', snapshot {view.snapshot_id[:8]}'
        if view.kind == 'backup' and view.status == 'ok':
            line += f', {view.files_total} files, {format_size(view.bytes_added)} added'
        typer.echo(line)
        if view.status != 'ok':
            typer.echo(view.text(), err=True)
    if view.status != 'ok':
        raise typer.Exit(1)


@backup_app.command('run')
def backup_run(target: TargetOption = '', json_output: JsonOption = False) -> None:
    """Back up now (then apply the target's retention)."""
    from appliance.operator import OPERATOR
    from console.backup import services

    view = _operate(
        lambda: services.back_up(actor=OPERATOR, registry=_registry(), target=target or None, trigger='cli')
    )
    _print_run(view, json_output)


@backup_app.command('check')
def backup_check(
    target: TargetOption = '',
    read_data: Annotated[bool, typer.Option('--read-data', help="Also read back the target's share of data.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Verify the repository (`restic check`)."""
    from appliance.operator import OPERATOR
    from console.backup import services

    view = _operate(lambda: services.check(actor=OPERATOR, target=target or None, read_data=read_data, trigger='cli'))
    _print_run(view, json_output)


@backup_app.command('drill')
def backup_drill(target: TargetOption = '', json_output: JsonOption = False) -> None:
    """Restore the latest snapshot into scratch, prove it against its manifest, delete it."""
    from appliance.operator import OPERATOR
    from console.backup import services

    view = _operate(lambda: services.drill(actor=OPERATOR, target=target or None, trigger='cli'))
    _print_run(view, json_output)
    if view.status == 'ok':
        typer.echo(f'Last proven restore: {view.finished_at:%Y-%m-%d %H:%M} UTC')


@backup_app.command('list')
def backup_list(target: TargetOption = '', json_output: JsonOption = False) -> None:
    """The snapshots in each target's repository (newest last), as `enclave restore --snapshot` takes them."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR, fail, operator_session
    from console.backup import services
    from console.backup.services import TAG

    with operator_session() as session:
        chosen = [t for t in services.list_targets(session=session, actor=OPERATOR) if not target or t.name == target]
        for item in chosen:
            session.expunge(item)
    if target and not chosen:
        fail(f'There is no backup target called "{target}".')
    rows: list[dict[str, Any]] = []
    for item in chosen:
        repository = services.open_repository(get_settings().data_dir, item)
        snapshots = _operate(lambda repository=repository: repository.snapshots(tag=TAG))
        rows += [{'target': item.name, 'id': s.short_id, 'time': s.time, 'host': s.hostname} for s in snapshots]
    if json_output:
        _echo_json(rows)
        return
    if not rows:
        typer.echo('No snapshots yet: enclave backup run')
    for row in rows:
        typer.echo(f'{row["target"]:<16} {row["id"]}  {row["time"][:19].replace("T", " ")}  {row["host"]}')


@backup_app.command('history')
def backup_history(
    target: TargetOption = '',
    limit: Annotated[int, typer.Option('--limit', min=1, max=500)] = 20,
    json_output: JsonOption = False,
) -> None:
    """Past runs (backups, retention, checks, drills, restores), newest first."""
    from appliance.operator import OPERATOR, operator_session
    from console.backup import services

    with operator_session() as session:
        items, _total = services.history(session=session, actor=OPERATOR, target=target, limit=limit)
    if json_output:
        _echo_json([item.to_json() for item in items])
        return
    for item in items:
        took = f'{item.seconds:.0f}s' if item.seconds is not None else '…'
        typer.echo(
            f'{item.started_at:%Y-%m-%d %H:%M}  {item.target:<12} {item.kind:<9} {item.status:<11} {took:>6}  '
            f'{format_size(item.bytes_added) if item.kind == "backup" else ""}  {item.text()[:80]}'
        )


@backup_app.command('kit')
def backup_kit(target: TargetOption = '') -> None:
    """Print the recovery kit of a target (password included: keep it offline, e.g. printed in a safe)."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR, operator_session
    from console.backup import services

    with operator_session() as session:
        chosen = services.choose_target(session, OPERATOR, target or None)
        typer.echo(
            services.recovery_kit(session=session, actor=OPERATOR, data_dir=get_settings().data_dir, name=chosen.name)
        )


def _stopped_and_confirmed(yes: bool, what: str) -> Any:
    """The settings, once the app is known to be stopped and the operator said yes (or gave --yes)."""
    from appliance.config import get_settings
    from appliance.operator import fail
    from console.backup import services

    settings = get_settings()
    try:
        services.refuse_while_serving(settings.data_dir)
    except ServiceError as error:
        fail(str(error))
    if not yes:
        typer.confirm(
            f'Replace the data in {settings.data_dir} with {what}? The current data is moved aside.', abort=True
        )
    return settings


def restore_command(
    target: Annotated[str, typer.Option('--target', help='The target to restore from.')],
    snapshot: Annotated[str, typer.Option('--snapshot', help='A snapshot id from "enclave backup list", or latest.')],
    yes: Annotated[bool, typer.Option('--yes', help='Replace the data without asking.')] = False,
    json_output: JsonOption = False,
) -> None:
    """Replace this box's data with a snapshot; the current data is moved aside, never deleted. Stop Enclave first."""
    from appliance.operator import OPERATOR, operator_session
    from console.backup import services

    settings = _stopped_and_confirmed(yes, f'snapshot {snapshot} of target {target}')
    with operator_session() as session:
        chosen = services.get_target(session=session, actor=OPERATOR, name=target)
        session.expunge(chosen)
    repository = services.open_repository(settings.data_dir, chosen)
    result = _operate(
        lambda: services.restore(
            settings=settings,
            registry=_registry(),
            actor=OPERATOR,
            repository=repository,
            snapshot=snapshot,
            target_name=target,
            trigger='cli',
        )
    )
    red = [check for check in result.checks if check.status == 'red']
    if json_output:
        _echo_json(
            {
                'snapshot': result.snapshot,
                'backup_created_at': result.backup_created_at,
                'backup_version': result.backup_version,
                'aside': str(result.aside),
                'migrated_from': result.migrated_from,
                'checks': [{'name': c.name, 'status': c.status, 'message': c.message} for c in result.checks],
            }
        )
    else:
        typer.echo(
            f'Restored snapshot {result.snapshot} made {result.backup_created_at} by Enclave {result.backup_version}.'
        )
        if result.migrated_from:
            typer.echo(f'The database was migrated forward from revision {result.migrated_from}.')
        typer.echo(f'The previous data is kept in {result.aside}; delete it once you are satisfied.')
        typer.echo('Everyone signs in again. Start Enclave now (systemctl start enclave, or make run).')
        for check in result.checks:
            typer.echo(f'  [{check.status}] {check.name}: {check.message}')
        if red:
            # The exit status reports the restore: a red check describes the restored data or this box (e.g. a
            # drill that had failed before the backup was made), not a failed restore.
            typer.echo(
                f'The restore itself succeeded. {len(red)} health check(s) are red: '
                f'{", ".join(check.name for check in red)}. Look at them after starting Enclave '
                '(Maintenance → Health, or: enclave health).'
            )


snapshot_app = typer.Typer(
    help='Local snapshots: a copy of the box on its own disk, taken in seconds (see the Snapshots page).',
    no_args_is_help=True,
)


def _snapshot_line(item: Any) -> str:
    from console.backup.services import SNAPSHOT_REASONS

    proof = {'ok': 'proven', 'failed': 'FAILED its proof', '': 'not proven yet'}.get(item.proof, item.proof)
    size = format_size(item.freed_bytes) if item.freed_bytes >= 0 else '?'
    return (
        f'{item.id:<34} {item.created_at[:19].replace("T", " ")} UTC  {SNAPSHOT_REASONS[item.reason]:<18} '
        f'{item.app_version:<10} {size:>10}  {proof}'
    )


@snapshot_app.command('take')
def snapshot_take(
    json_output: JsonOption = False,
    reason: Annotated[
        str, typer.Option('--reason', help='manual, or upgrade (kept with the last three upgrade snapshots).')
    ] = 'manual',
) -> None:
    """Take a snapshot now (online: Enclave keeps running)."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR, fail
    from console.backup import services

    if reason not in ('manual', 'upgrade'):
        fail(f'A snapshot taken from the shell is manual or upgrade, not {reason!r}.')
    made = _operate(
        lambda: services.take_snapshot(settings=get_settings(), registry=_registry(), actor=OPERATOR, reason=reason)
    )
    if json_output:
        _echo_json(made.as_dict())
        return
    typer.echo(f'Snapshot {made.id} taken in {made.took_seconds:.2f} s ({made.blob_files} files pinned).')


@snapshot_app.command('list')
def snapshot_list(json_output: JsonOption = False) -> None:
    """The snapshots, newest first, with what deleting each would free."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR
    from console.backup import services

    found = _operate(lambda: services.list_snapshots(settings=get_settings(), actor=OPERATOR))
    if json_output:
        _echo_json([item.as_dict() for item in found])
        return
    if not found:
        typer.echo('No snapshots yet: enclave snapshot take')
    for item in found:
        typer.echo(_snapshot_line(item))


@snapshot_app.command('prove')
def snapshot_prove(snapshot_id: Annotated[str, typer.Argument(metavar='ID')]) -> None:
    """Prove a snapshot: the database against its manifest, every pinned file against its checksum."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR
    from console.backup import services

    item = _operate(lambda: services.prove_snapshot(settings=get_settings(), actor=OPERATOR, snapshot_id=snapshot_id))
    if item.proof == 'ok':
        typer.echo(f'Snapshot {item.id} proven: {item.blob_files} files and the database match its manifest.')
        return
    typer.echo(f'Snapshot {item.id} does not match its manifest:', err=True)
    for finding in item.findings:
        typer.echo(f'  {finding}', err=True)
    raise typer.Exit(1)


@snapshot_app.command('restore')
def snapshot_restore(
    snapshot_id: Annotated[str, typer.Argument(metavar='ID')],
    yes: Annotated[bool, typer.Option('--yes', help='Replace the data without asking.')] = False,
) -> None:
    """Bring the box back to a snapshot; the current data is moved aside, never deleted. Stop Enclave first."""
    from appliance.operator import OPERATOR, fail, open_for_replacement
    from console.backup import services

    _stopped_and_confirmed(yes, f'snapshot {snapshot_id}')
    # Not `_operate`: the database being replaced may have a schema this release does not know (the rollback of
    # an upgrade whose migrations ran restores the snapshot taken before them with the old release).
    settings = open_for_replacement()
    try:
        item = services.restore_snapshot(
            settings=settings, registry=_registry(), actor=OPERATOR, snapshot_id=snapshot_id
        )
    except ServiceError as error:
        fail(str(error))
    typer.echo(f'Restored snapshot {item.id}; the previous data is in {settings.data_dir}/before-restore-*.')


@snapshot_app.command('delete')
def snapshot_delete(
    snapshot_id: Annotated[str, typer.Argument(metavar='ID')],
    yes: Annotated[bool, typer.Option('--yes', help='Do not ask.')] = False,
) -> None:
    """Delete a snapshot (the files it alone pins are freed)."""
    from appliance.config import get_settings
    from appliance.operator import OPERATOR
    from console.backup import services

    if not yes:
        typer.confirm(f'Delete snapshot {snapshot_id}?', abort=True)
    _operate(lambda: services.delete_snapshot(settings=get_settings(), actor=OPERATOR, snapshot_id=snapshot_id))
    typer.echo(f'Snapshot {snapshot_id} deleted.')


def register(app: typer.Typer) -> None:
    """Add `backup`, `restore` and `snapshot` to the `enclave` app."""
    app.add_typer(backup_app, name='backup')
    app.command('restore')(restore_command)
    app.add_typer(snapshot_app, name='snapshot')
