"""The `enclave` command: parses arguments and hands off to the same services the pages use.

The CLI acts as the machine operator: there is no signed-in user, so its changes are audited with the
actor name 'cli'. Service errors are printed in English on stderr and end the command with exit code 1;
a database or configuration that does not fit this version ends it with exit code 2.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from appliance import __version__
from appliance.config import Settings, StartupError, check_data_dir, prepare_data_dir
from appliance.db import init_database
from appliance.errors import N_, NotFound, ServiceError
from appliance.migrate import SchemaError, head_revision, schema_state, upgrade
from appliance.models import User
from appliance.modules import ModuleError, builtin_specs
from appliance.operator import OPERATOR, cli_settings, fail, operator_session, unreachable
from appliance.secrets import check_data_key, record_key_check
from appliance.services import accounts, audit, auth, tokens
from appliance.web import maintenance

app = typer.Typer(name='enclave', help='Run and administer Enclave.', no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help='Create, list, disable and enable accounts; reset passwords.', no_args_is_help=True)
token_app = typer.Typer(help='Personal access tokens for the REST API.', no_args_is_help=True)
audit_app = typer.Typer(help='The hash-chained audit log.', no_args_is_help=True)
app.add_typer(user_app, name='user')
app.add_typer(token_app, name='token')
app.add_typer(audit_app, name='audit')
blobs_app = typer.Typer(help='The file store: check it, and remove what nothing uses.', no_args_is_help=True)
app.add_typer(blobs_app, name='blobs')

PasswordStdin = Annotated[
    bool, typer.Option('--password-stdin', help='Read the password from the first line of standard input.')
]


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        password: str = typer.prompt('Password', hide_input=True, confirmation_prompt=True, err=True)
        return password
    password = sys.stdin.readline().rstrip('\r\n')
    if not password:
        fail('No password on standard input: pipe it in as one line, or leave out --password-stdin to be asked.')
    return password


def _find_user(session: Session, username: str) -> User:
    user = accounts.find_user(session, username)
    if user is None:
        raise NotFound(N_('There is no user called "{username}"; see "enclave user list".'), username=username)
    return user


def _live_sessions(session: Session, user: User) -> int:
    return auth.list_sessions(session=session, actor=OPERATOR, user_id=user.id, limit=1).total


def _all_users(session: Session) -> list[User]:
    users: list[User] = []
    while True:
        page = accounts.list_users(session=session, actor=OPERATOR, offset=len(users), limit=200)
        users.extend(page.items)
        if not page.items or len(users) >= page.total:
            return users


# ---- commands ---------------------------------------------------------------------------------------------


@app.command()
def serve(
    migrate: Annotated[bool, typer.Option('--migrate/--no-migrate', help='Bring the schema up to date first.')] = True,
    worker: Annotated[int, typer.Option(hidden=True, help='Serve as worker N of a supervisor.')] = 0,
) -> None:
    """Serve Enclave on the configured host and port (or socket), with `workers` processes."""
    settings = cli_settings()
    # NiceGUI resolves its storage folder at import time; keep it inside the data dir.
    os.environ.setdefault('NICEGUI_STORAGE_PATH', str(settings.data_dir / 'nicegui'))
    if not worker and settings.worker_count > 1:
        _supervise(settings, migrate=migrate)
        return
    from nicegui import ui

    from appliance.app import build, run_kwargs

    try:
        build(settings, migrate=migrate)
    except (StartupError, SchemaError, ModuleError) as error:
        fail(f'Enclave cannot start: {error}', 2)
    except OperationalError as error:
        unreachable(settings, error)
    if not worker:
        _hold_server_lock(settings)
    ui.run(**run_kwargs(settings))  # type: ignore[arg-type]


_server_lock: list[Any] = []


def _hold_server_lock(settings: Settings) -> None:
    """Held while serving: `enclave restore` refuses to swap the data under a running app. Whoever holds it may
    also lift a maintenance mode that a process which died during maintenance left on."""
    handle = (settings.data_dir / 'server.lock').open('a')
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fail(f'Another Enclave is already serving the data folder {settings.data_dir}.', 2)
    _server_lock.append(handle)
    maintenance.clear_flag(settings.data_dir, stale=True)


def _supervise(settings: Settings, *, migrate: bool) -> None:
    """Several workers (appliance.workers): the schema is checked once here, then each worker builds the app."""
    from appliance import logs, workers
    from appliance.migrate import ensure_current

    try:
        prepare_data_dir(settings)
        logs.configure(settings)
        database = init_database(settings.sqlalchemy_url)
        if migrate:
            upgrade(database.engine)
        ensure_current(database.engine)
        database.close()
    except (StartupError, SchemaError) as error:
        fail(f'Enclave cannot start: {error}', 2)
    except OperationalError as error:
        unreachable(settings, error)
    _hold_server_lock(settings)
    supervisor = workers.Supervisor(settings, workers.worker_command())
    raise typer.Exit(supervisor.run())


@app.command('proxy-config')
def proxy_config(
    write: Annotated[
        Path | None, typer.Option('--write', help='Write it to this file (only when it changed) instead of printing.')
    ] = None,
    reload_command: Annotated[
        str, typer.Option('--reload', help='Run this command after the file changed (e.g. "systemctl reload nginx").')
    ] = '',
) -> None:
    """The nginx upstream block for the configured workers (the appliance's nginx includes it)."""
    from appliance.workers import proxy_upstream

    settings = cli_settings()
    block = proxy_upstream(settings)
    if write is None:
        typer.echo(block, nl=False)
        return
    if write.exists() and write.read_text() == block:
        return
    temporary = write.with_name(f'.{write.name}.new')
    temporary.write_text(block)
    temporary.chmod(0o644)
    os.replace(temporary, write)
    typer.echo(f'{write}: {settings.worker_count} workers')
    if reload_command:
        import shlex
        import subprocess

        done = subprocess.run(shlex.split(reload_command), check=False)  # noqa: S603 - the admin's own command
        if done.returncode != 0:
            fail(f'{reload_command} failed with status {done.returncode}.', 1)


@app.command()
def migrate() -> None:
    """Create the data dir and bring the database schema to this version's newest revision."""
    settings = cli_settings()
    os.environ.setdefault('NICEGUI_STORAGE_PATH', str(settings.data_dir / 'nicegui'))
    from appliance.config import prepare_data_dir

    try:
        check_data_dir(settings)
    except StartupError as error:
        fail(f'Not migrated: {error}', 2)
    database = init_database(settings.sqlalchemy_url)
    try:
        check_data_key(settings.data_dir, database.engine)
        prepare_data_dir(settings)
        before = schema_state(database.engine)
        upgrade(database.engine)
        record_key_check(settings.data_dir, database.engine)
    except (StartupError, SchemaError) as error:
        fail(f'Not migrated: {error}', 2)
    except OperationalError as error:
        unreachable(settings, error)
    finally:
        database.close()
    if before.up_to_date:
        typer.echo(f'The database schema is already current: revision {before.head}.')
    else:
        typer.echo(f'Migrated the database from revision {before.current or "(empty)"} to {before.head}.')


@app.command()
def version() -> None:
    """Print the version of Enclave and the newest schema revision it knows."""
    typer.echo(f'enclave {__version__}')
    typer.echo(f'schema {head_revision()}')


@user_app.command('create')
def user_create(
    username: Annotated[str, typer.Option('--username', help='2 to 32 lower-case letters, digits, . - _')],
    display_name: Annotated[str, typer.Option('--display-name', help='Defaults to the username.')] = '',
    email: Annotated[str, typer.Option('--email')] = '',
    role: Annotated[list[str] | None, typer.Option('--role', help='admin or member; repeat for several.')] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account. The first account must be an admin; creating it completes setup."""
    password = _read_password(password_stdin)
    with operator_session() as session:
        first = accounts.setup_required(session)
        user = accounts.create_user(
            session=session,
            actor=OPERATOR,
            username=username,
            display_name=display_name or username,
            email=email,
            password=password,
            roles=role or ['member'],
        )
    typer.echo(f'Created user {user.username} ({", ".join(sorted(user.role_names)) or "no roles"}).')
    if first:
        typer.echo(f'Setup is complete: {user.username} can now sign in and manage Enclave.')


@user_app.command('list')
def user_list(json_output: Annotated[bool, typer.Option('--json', help='Print JSON for scripts.')] = False) -> None:
    """List every account, active or not."""
    with operator_session() as session:
        users = _all_users(session)
        rows: list[dict[str, Any]] = [
            {
                'username': user.username,
                'display_name': user.display_name,
                'roles': sorted(user.role_names),
                'active': user.is_active,
                'last_login': user.last_login_at.isoformat() if user.last_login_at else None,
            }
            for user in users
        ]
    if json_output:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = [['USERNAME', 'NAME', 'ROLES', 'ACTIVE', 'LAST LOGIN']] + [
        [
            row['username'],
            row['display_name'],
            ','.join(row['roles']) or '-',
            'yes' if row['active'] else 'no',
            row['last_login'][:16].replace('T', ' ') + ' UTC' if row['last_login'] else 'never',
        ]
        for row in rows
    ]
    widths = [max(len(line[col]) for line in table) for col in range(len(table[0]))]
    for line in table:
        typer.echo('  '.join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@user_app.command('disable')
def user_disable(username: str) -> None:
    """Disable an account and end its sessions; its tokens stop working."""
    with operator_session() as session:
        user = _find_user(session, username)
        ended = _live_sessions(session, user)
        accounts.set_active(session=session, actor=OPERATOR, user_id=user.id, active=False)
    typer.echo(f'Disabled {user.username}; ended {ended} session(s).')


@user_app.command('enable')
def user_enable(username: str) -> None:
    """Enable a disabled account again."""
    with operator_session() as session:
        user = _find_user(session, username)
        accounts.set_active(session=session, actor=OPERATOR, user_id=user.id, active=True)
    typer.echo(f'Enabled {user.username}.')


@user_app.command('reset-password')
def user_reset_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password for an account, end its sessions and revoke its API tokens."""
    with operator_session() as session:
        _find_user(session, username)  # ask for the password only once the user is known
    password = _read_password(password_stdin)
    with operator_session() as session:
        user = _find_user(session, username)
        ended = _live_sessions(session, user)
        live = tokens.live_count(session=session, owner=user)
        accounts.reset_password(session=session, actor=OPERATOR, user_id=user.id, new_password=password)
    typer.echo(f'Reset the password of {user.username}; ended {ended} session(s) and revoked {live} API token(s).')


@token_app.command('create')
def token_create(
    username: Annotated[str, typer.Option('--username', help='The account the token acts as.')],
    name: Annotated[str, typer.Option('--name', help='What the token is for.')] = 'cli',
    expires_days: Annotated[int | None, typer.Option('--expires-days', help='1 to 3650; default: never.')] = None,
) -> None:
    """Create a personal access token and print only the token (shown once)."""
    with operator_session() as session:
        owner = _find_user(session, username)
        _row, raw = tokens.create_token(
            session=session, actor=OPERATOR, owner=owner, name=name, expires_days=expires_days
        )
    typer.echo(raw)


@audit_app.command('verify')
def audit_verify() -> None:
    """Check every link of the audit chain; exit 1 at the first altered, removed or inserted event."""
    with operator_session() as session:
        result = audit.verify(session=session)
    if not result.ok:
        fail(f'audit log BROKEN at event #{result.broken_id}: {result.reason}')
    typer.echo(f'audit log OK: {result.checked} events')


@blobs_app.command('fsck')
def blobs_fsck(
    quick: Annotated[bool, typer.Option('--quick', help='Do not read the files back to check their content.')] = False,
    json_output: Annotated[bool, typer.Option('--json', help='Print JSON for scripts.')] = False,
) -> None:
    """Compare the stored files with the database; exit 1 when a file is missing, damaged or out of place."""
    from appliance.blobstore import get_blobstore
    from appliance.fsutil import format_size

    store = get_blobstore()
    with operator_session() as session:
        report = store.fsck(session=session, verify_hashes=not quick)
    problems = not report.ok or bool(report.strays)
    if json_output:
        payload = {
            'ok': not problems,
            'blobs': report.blobs,
            'bytes': report.bytes,
            'missing': report.missing,
            'corrupt': report.corrupt,
            'size_mismatches': report.size_mismatches,
            'strays': [str(path) for path in report.strays],
            'orphans': report.orphans,
            'temp_files': [str(path) for path in report.temp_files],
            'content_checked': not quick,
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(f'{report.blobs} files, {format_size(report.bytes)} in {store.root}')
        for label, items in (
            ('missing (in the database, not on disk)', report.missing),
            ('damaged (content does not match its name)', report.corrupt),
            ('of another size than recorded', report.size_mismatches),
            ('out of place (look at them; nothing removes them)', [str(path) for path in report.strays]),
        ):
            for item in items:
                typer.echo(f'{label}: {item}')
        typer.echo(
            f'{len(report.orphans)} unused files and {len(report.temp_files)} interrupted uploads: '
            '"enclave blobs gc" removes them once unused for an hour (uploads: a day); the app does so every hour.'
        )
    if problems:
        fail(
            'The file store has problems (listed above): restore missing or damaged files from a backup '
            '("enclave restore"), or upload them again.'
        )
    if not json_output:
        typer.echo('file store OK' + ('' if not quick else ' (content not read: --quick)'))


@blobs_app.command('gc')
def blobs_gc(
    dry_run: Annotated[bool, typer.Option('--dry-run', help='Only say what would be removed.')] = False,
    json_output: Annotated[bool, typer.Option('--json', help='Print JSON for scripts.')] = False,
) -> None:
    """Remove files nothing uses (unused for an hour) and interrupted uploads (untouched for a day)."""
    from appliance.blobstore import get_blobstore
    from appliance.db import get_database
    from appliance.fsutil import format_size
    from appliance.scheduler import maintenance_running

    with operator_session():  # a current schema, and the command's end on a database error
        pass
    if not dry_run and maintenance_running(cli_settings().data_dir):
        fail('A backup, drill or restore is running; run "enclave blobs gc" again when it has finished.')
    try:
        report = get_blobstore().collect(get_database(), dry_run=dry_run)
    except ServiceError as error:
        fail(str(error))
    if json_output:
        typer.echo(
            json.dumps(
                {
                    'dry_run': dry_run,
                    'unused_files': report.blobs_removed,
                    'unused_bytes': report.blob_bytes_freed,
                    'interrupted_uploads': report.temp_files_removed,
                    'interrupted_bytes': report.temp_bytes_freed,
                    'bytes': report.bytes_freed,
                },
                indent=2,
            )
        )
        return
    verb = 'Would remove' if dry_run else 'Removed'
    typer.echo(
        f'{verb} {report.blobs_removed} unused files ({format_size(report.blob_bytes_freed)}) and '
        f'{report.temp_files_removed} interrupted uploads ({format_size(report.temp_bytes_freed)}): '
        f'{format_size(report.bytes_freed)} {"to free" if dry_run else "freed"}.'
    )


# The built-in modules' commands (the console's backup, restore, health, license), each through its spec's `cli`.
for _spec in builtin_specs():
    if _spec.cli is not None:
        _spec.cli(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == '__main__':
    main()
