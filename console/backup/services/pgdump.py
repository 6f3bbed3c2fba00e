"""The PostgreSQL side of a backup: a consistent `pg_dump` taken while the app runs, proven and restored.

`dump` opens a REPEATABLE READ transaction, exports its snapshot, counts the declared tables in it and runs
`pg_dump --snapshot` on the very same snapshot, so the dump and the manifest's counts agree to the row.
`prove` restores a dump into a scratch database on the same server (the role needs CREATEDB), counts its rows
against the manifest and drops it. `replace` swaps the live database for a dump: the current content is dumped
aside first, then the schema is emptied and the dump restored in one transaction; on failure the aside dump is
put back. The password travels in PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, make_url, text

from appliance.errors import N_
from console.backup.services.snapshot import REFERENCED_BLOBS, Finding, SnapshotError

DUMP = 'enclave.pgdump'
TIMEOUT = 6 * 3600


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path('/usr/lib/postgresql').glob(f'*/bin/{name}'), key=lambda p: int(p.parent.parent.name))
    if versions:
        return str(versions[-1])
    raise SnapshotError(N_('{tool} is not installed: install the Debian package "postgresql-client".'), tool=name)


def _connection(url: str, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    args = ['--host', parsed.host or 'localhost', '--port', str(parsed.port or 5432)]
    if parsed.username:
        args += ['--username', parsed.username]
    args += ['--dbname', database or parsed.database or '']
    keep = ('PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR')
    env = {key: value for key, value in os.environ.items() if key in keep}
    if parsed.password:
        env['PGPASSWORD'] = parsed.password
    return args, env


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False)  # noqa: S603
    except subprocess.TimeoutExpired as error:
        raise SnapshotError(N_('{what} did not finish in time and was stopped.'), what=what) from error
    if result.returncode != 0:
        raise SnapshotError(
            N_('{what} failed: {reason}'),
            what=what,
            reason=(result.stderr.strip() or 'exit code ' + str(result.returncode))[-500:],
        )
    return result.stdout


def _tables(connection: Connection) -> set[str]:
    return set(
        connection.execute(text('SELECT tablename FROM pg_tables WHERE schemaname = current_schema()')).scalars()
    )


def count_rows(connection: Connection, tables: list[str]) -> dict[str, int]:
    """Rows per declared table (tables this database does not have are left out)."""
    existing = _tables(connection)
    return {
        table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())  # noqa: S608 - declared
        for table in tables
        if table in existing
    }


def _revision(connection: Connection) -> str:
    if 'alembic_version' not in _tables(connection):
        return ''
    return str(connection.execute(text('SELECT version_num FROM alembic_version')).scalar() or '')


def dump(
    engine: Engine, url: str, staging: Path, tables: list[str]
) -> tuple[dict[str, int], str, Path, list[tuple[str, int]]]:
    """Dump the database into `staging` on one snapshot with the counts and the blobs it references;
    (counts, schema revision, dump file, [(sha256, size)])."""
    target = staging / DUMP
    args, env = _connection(url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level='REPEATABLE READ')
        with connection.begin():
            snapshot = connection.execute(text('SELECT pg_export_snapshot()')).scalar_one()
            counts = count_rows(connection, tables)
            revision = _revision(connection)
            blobs = [(str(sha), int(size)) for sha, size in connection.execute(text(REFERENCED_BLOBS))]
            _run(
                [_binary('pg_dump'), *args, '--format=custom', '--no-owner', '--no-privileges',
                 f'--snapshot={snapshot}', '--file', str(target)],
                env,
                'pg_dump',
            )  # fmt: skip
    return counts, revision, target, blobs


def _scratch_engine(url: str, database: str) -> Engine:
    return create_engine(make_url(url).set(database=database), isolation_level='AUTOCOMMIT')


def prove(url: str, dump_file: Path, expected: dict[str, int], revision: str) -> list[Finding]:
    """Restore `dump_file` into a scratch database, compare counts and revision with the manifest, drop it."""
    scratch = f'enclave_drill_{secrets.token_hex(4)}'
    admin = create_engine(url, isolation_level='AUTOCOMMIT')
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    except Exception as error:  # noqa: BLE001 - the reason is the finding
        admin.dispose()
        return [
            Finding(
                'database',
                'restorable into a scratch database',
                f'cannot create one ({str(error).splitlines()[0][:200]}): grant the role CREATEDB',
            )
        ]
    try:
        args, env = _connection(url, scratch)
        try:
            _run([_binary('pg_restore'), *args, '--no-owner', '--no-privileges', '--exit-on-error',
                  str(dump_file)], env, 'pg_restore')  # fmt: skip
        except SnapshotError as error:
            return [Finding('database', 'restores cleanly', str(error)[:300])]
        engine = _scratch_engine(url, scratch)
        try:
            with engine.connect() as connection:
                counts = count_rows(connection, list(expected))
                found_revision = _revision(connection)
        finally:
            engine.dispose()
        findings = [
            Finding(f'rows in {table}', str(rows), str(counts.get(table, 'missing')))
            for table, rows in expected.items()
            if counts.get(table) != rows
        ]
        if found_revision != revision:
            findings.append(Finding('schema revision', revision, found_revision))
        return findings
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


def _load(engine: Engine, url: str, dump_file: Path) -> None:
    with engine.begin() as connection:
        connection.execute(text('DROP SCHEMA public CASCADE'))
        connection.execute(text('CREATE SCHEMA public'))
    args, env = _connection(url)
    _run([_binary('pg_restore'), *args, '--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction',
          str(dump_file)], env, 'pg_restore')  # fmt: skip


def replace(engine: Engine, url: str, dump_file: Path, aside: Path) -> None:
    """Make the live database the dump's content; its current content is dumped into `aside` first."""
    before = aside / 'enclave-before-restore.pgdump'
    args, env = _connection(url)
    _run([_binary('pg_dump'), *args, '--format=custom', '--no-owner', '--no-privileges', '--file', str(before)],
         env, 'pg_dump')  # fmt: skip
    try:
        _load(engine, url, dump_file)
    except SnapshotError:
        _load(engine, url, before)
        raise
