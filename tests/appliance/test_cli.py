"""The `enclave` command, driven as an operator would: arguments in, text and exit codes out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner, Result

import appliance
from appliance.cli import app
from appliance.config import get_settings
from appliance.db import get_database
from appliance.migrate import head_revision
from appliance.models import AuditEvent, LoginSession, User
from appliance.services import accounts, auth, passwords, tokens
from tests.conftest import PASSWORD, People, make_token, reload_user

NEW_PASSWORD = 'Quiet-Lantern-Orchard-77'


def enclave(*args: str, stdin: str | None = None) -> Result:
    """Run `enclave <args>` in-process."""
    return CliRunner().invoke(app, list(args), input=stdin)


def user_count() -> int:
    with get_database().session() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def audit_count() -> int:
    with get_database().session() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def last_audit() -> AuditEvent:
    with get_database().session() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        return event


def sign_in(username: str) -> str:
    """A live browser session for `username`; returns its cookie token."""
    with get_database().session() as session:
        ticket = auth.authenticate(session=session, username=username, password=PASSWORD, ip='10.0.0.9')
    with get_database().session() as session:
        return auth.exchange_ticket(session=session, ticket=ticket, ip='10.0.0.9', user_agent='test').token


def session_is_live(token: str) -> bool:
    with get_database().session() as session:
        return auth.resolve_session(session=session, token=token) is not None


def test_it_creates_a_user_from_stdin_and_lists_it(people: People) -> None:
    result = enclave(
        'user', 'create', '--username', 'Dave', '--display-name', 'Dave 王', '--password-stdin', stdin=f'{PASSWORD}\n'
    )

    assert result.exit_code == 0, result.output
    assert 'Created user dave (member)' in result.stdout
    listed = json.loads(enclave('user', 'list', '--json').stdout)
    assert {
        'username': 'dave',
        'display_name': 'Dave 王',
        'roles': ['member'],
        'active': True,
        'last_login': None,
    } in listed
    assert [row['username'] for row in listed] == ['alice', 'bob', 'charlie', 'dave']
    event = last_audit()
    assert (event.actor_id, event.actor_name, event.action, event.target) == (None, 'cli', 'user.create', 'user:dave')


def test_it_prompts_twice_for_a_hidden_password(people: People) -> None:
    result = enclave('user', 'create', '--username', 'erin', stdin=f'{PASSWORD}\n{PASSWORD}\n')

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with get_database().session() as session:
        erin = accounts.find_user(session, 'erin')
        assert erin is not None and passwords.verify_password(erin.password_hash, PASSWORD)


def test_it_prints_users_as_a_table(people: People, erin: User) -> None:
    sign_in('bob')

    lines = enclave('user', 'list').stdout.splitlines()

    assert lines[0].split() == ['USERNAME', 'NAME', 'ROLES', 'ACTIVE', 'LAST', 'LOGIN']
    assert lines[1].split()[:5] == ['alice', 'Alice', 'Admin', 'admin', 'yes']
    assert lines[1].endswith('never')
    assert lines[2].split()[:4] == ['bob', 'Bob', '张伟', 'member'] and lines[2].endswith('UTC')
    assert lines[3].split()[:5] == ['charlie', 'Charlie', 'Outsider', 'member', 'yes']
    assert lines[4].split()[:5] == ['erin', 'Erin', 'Norole', '-', 'yes']


def test_it_refuses_a_weak_password_and_creates_nobody(people: People) -> None:
    result = enclave('user', 'create', '--username', 'dave', '--password-stdin', stdin='password123\n')

    assert result.exit_code == 1
    assert 'most common passwords' in result.stderr
    assert user_count() == 3


def test_it_refuses_a_duplicate_username(people: People) -> None:
    result = enclave('user', 'create', '--username', 'Bob', '--password-stdin', stdin=f'{PASSWORD}\n')

    assert result.exit_code == 1
    assert 'The username "bob" is already taken.' in result.stderr
    assert user_count() == 3
    assert audit_count() == 0


def test_it_refuses_a_bad_username_and_an_unknown_role(people: People) -> None:
    bad_name = enclave('user', 'create', '--username', 'x', '--password-stdin', stdin=f'{PASSWORD}\n')
    bad_role = enclave(
        'user', 'create', '--username', 'dave', '--role', 'owner', '--password-stdin', stdin=f'{PASSWORD}\n'
    )

    assert bad_name.exit_code == 1 and 'A username is 2 to 32 characters' in bad_name.stderr
    assert bad_role.exit_code == 1 and 'Unknown role: owner.' in bad_role.stderr
    assert user_count() == 3


def test_it_creates_the_first_admin_and_completes_setup() -> None:
    member_first = enclave('user', 'create', '--username', 'bob', '--password-stdin', stdin=f'{PASSWORD}\n')
    assert member_first.exit_code == 1
    assert 'No administrator exists yet' in member_first.stderr
    assert user_count() == 0

    result = enclave(
        'user', 'create', '--username', 'root', '--role', 'admin', '--password-stdin', stdin=f'{PASSWORD}\n'
    )

    assert result.exit_code == 0, result.output
    assert 'Setup is complete' in result.stdout
    with get_database().session() as session:
        assert not accounts.setup_required(session)
        assert json.loads(last_audit().details) == {'completes_setup': True, 'roles': ['admin']}


def test_it_prints_only_a_working_token(people: People) -> None:
    result = enclave('token', 'create', '--username', 'bob', '--name', 'backup script', '--expires-days', '30')

    assert result.exit_code == 0, result.output
    assert result.stdout.count('\n') == 1 and result.stderr == ''
    raw = result.stdout.strip()
    with get_database().session() as session:
        owner = tokens.resolve_token(session=session, raw=raw)
        assert owner is not None and owner.username == 'bob'
    event = last_audit()
    assert (event.action, event.actor_name, event.actor_id, event.target) == ('token.create', 'cli', None, 'user:bob')


def test_it_refuses_a_token_for_a_disabled_user(people: People) -> None:
    enclave('user', 'disable', 'bob')
    before = audit_count()

    result = enclave('token', 'create', '--username', 'bob')

    assert result.exit_code == 1 and result.stdout == ''
    assert 'bob is disabled; enable the account first.' in result.stderr
    assert audit_count() == before


def test_it_refuses_a_token_for_an_unknown_user_or_a_bad_expiry(people: People) -> None:
    unknown = enclave('token', 'create', '--username', 'nobody')
    bad_expiry = enclave('token', 'create', '--username', 'bob', '--expires-days', '0')

    assert unknown.exit_code == 1 and unknown.stdout == ''
    assert 'There is no user called "nobody"' in unknown.stderr
    assert bad_expiry.exit_code == 1 and 'A token expires after 1 to 3650 days.' in bad_expiry.stderr


def test_it_disables_a_user_and_ends_their_sessions(people: People) -> None:
    cookie = sign_in('bob')

    result = enclave('user', 'disable', 'bob')

    assert result.exit_code == 0, result.output
    assert 'ended 1 session(s)' in result.stdout
    assert not reload_user(people.bob.id).is_active
    assert not session_is_live(cookie)
    with get_database().session() as session:
        assert session.scalars(select(LoginSession.end_reason)).one() == 'disabled'
    assert (last_audit().actor_name, last_audit().action) == ('cli', 'user.disable')

    assert enclave('user', 'enable', 'bob').exit_code == 0
    assert reload_user(people.bob.id).is_active
    assert (last_audit().actor_name, last_audit().action) == ('cli', 'user.enable')


def test_it_refuses_to_disable_the_last_admin(people: People) -> None:
    result = enclave('user', 'disable', 'alice')

    assert result.exit_code == 1
    assert 'This is the last administrator' in result.stderr
    assert reload_user(people.alice.id).is_active


def test_it_resets_a_password_and_ends_sessions(people: People) -> None:
    cookie = sign_in('bob')

    result = enclave('user', 'reset-password', 'bob', '--password-stdin', stdin=f'{NEW_PASSWORD}\n')

    assert result.exit_code == 0, result.output
    assert passwords.verify_password(reload_user(people.bob.id).password_hash, NEW_PASSWORD)
    assert not session_is_live(cookie)
    assert (last_audit().actor_name, last_audit().action, last_audit().target) == (
        'cli',
        'user.reset_password',
        'user:bob',
    )


def test_it_revokes_the_api_tokens_of_an_account_whose_password_it_resets(people: People) -> None:
    token = make_token(people.bob)
    with get_database().session() as session:
        assert tokens.resolve_token(session=session, raw=token) is not None

    result = enclave('user', 'reset-password', 'bob', '--password-stdin', stdin=f'{NEW_PASSWORD}\n')

    assert result.exit_code == 0, result.output
    assert 'revoked 1 API token(s)' in result.stdout
    with get_database().session() as session:
        assert tokens.resolve_token(session=session, raw=token) is None


def test_it_keeps_the_old_password_when_the_new_one_is_weak(people: People) -> None:
    weak = enclave('user', 'reset-password', 'bob', '--password-stdin', stdin='bob-password-1\n')
    unknown = enclave('user', 'reset-password', 'nobody', '--password-stdin', stdin=f'{NEW_PASSWORD}\n')

    assert weak.exit_code == 1 and 'must not contain the username' in weak.stderr
    assert unknown.exit_code == 1 and 'There is no user called "nobody"' in unknown.stderr
    assert passwords.verify_password(reload_user(people.bob.id).password_hash, PASSWORD)


def test_it_verifies_the_audit_chain_and_names_a_tampered_event(people: People) -> None:
    for username in ('dave', 'erin'):
        enclave('user', 'create', '--username', username, '--password-stdin', stdin=f'{PASSWORD}\n')
    with get_database().session() as session:
        first_id = session.scalar(select(func.min(AuditEvent.id)))
    count = audit_count()

    ok = enclave('audit', 'verify')
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == f'audit log OK: {count} events'

    with get_database().engine.begin() as connection:
        connection.execute(text("UPDATE core_audit SET target='x' WHERE id=:id"), {'id': first_id})
    broken = enclave('audit', 'verify')

    assert broken.exit_code == 1
    assert f'audit log BROKEN at event #{first_id}: the row content does not match its hash' in broken.stderr


def test_it_migrates_an_empty_data_dir_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / 'fresh'
    monkeypatch.setenv('ENCLAVE_DATA_DIR', str(fresh))
    get_settings.cache_clear()

    first = enclave('migrate')
    again = enclave('migrate')

    assert first.exit_code == 0, first.output
    assert f'Migrated the database from revision (empty) to {head_revision()}.' in first.stdout
    assert again.exit_code == 0, again.output
    assert f'already current: revision {head_revision()}' in again.stdout
    assert (fresh / 'enclave.db').is_file()
    assert enclave('user', 'list', '--json').stdout.strip() == '[]'


def test_it_refuses_to_migrate_a_database_from_a_newer_version() -> None:
    with get_database().engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num='deadbeef'"))

    migrate = enclave('migrate')
    user_list = enclave('user', 'list')

    assert migrate.exit_code == 2
    assert 'schema revision deadbeef, which this version of Enclave does not know' in migrate.stderr
    assert user_list.exit_code == 2 and 'deadbeef' in user_list.stderr
    with get_database().engine.connect() as connection:
        assert connection.execute(text('SELECT version_num FROM alembic_version')).scalar() == 'deadbeef'


def test_it_refuses_to_serve_an_empty_database_without_migrating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('ENCLAVE_DATA_DIR', str(tmp_path / 'empty'))
    get_settings.cache_clear()

    result = enclave('serve', '--no-migrate')

    assert result.exit_code == 2
    assert 'Enclave cannot start: The database is empty. Run "enclave migrate"' in result.stderr


def test_it_says_what_to_do_when_the_database_cannot_be_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ENCLAVE_DATA_DIR', str(tmp_path / 'missing' / 'data'))
    get_settings.cache_clear()

    result = enclave('user', 'list')

    assert result.exit_code == 2
    assert 'Cannot open the database' in result.stderr and 'run "enclave migrate" first' in result.stderr
    assert not (tmp_path / 'missing').exists()


def test_it_prints_the_version_and_schema_head() -> None:
    result = enclave('version')

    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == f'schema {head_revision()}'
    assert result.stdout.startswith('enclave ')


def test_it_runs_as_the_installed_console_script() -> None:
    script = Path(sys.executable).parent / 'enclave'
    argv = [str(script)] if script.exists() else [sys.executable, '-m', 'appliance.cli']

    done = subprocess.run([*argv, 'version'], capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f'enclave {appliance.__version__}', f'schema {head_revision()}']


def test_it_rejects_users_it_does_not_know_for_every_account_command(people: People) -> None:
    for command in (['user', 'disable', 'nobody'], ['user', 'enable', 'nobody']):
        result = enclave(*command)
        assert result.exit_code == 1, command
        assert 'There is no user called "nobody"' in result.stderr


def test_it_serves_on_a_unix_socket_and_opens_no_tcp_port(data_dir: Path, tmp_path: Path) -> None:
    import http.client
    import os
    import socket
    import time

    import psutil

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(5)
            self.sock.connect(str(path))

    # Two workers, as on the appliance: each on its numbered socket (appliance.workers).
    socket_path = tmp_path / 'app.sock'
    paths = [tmp_path / 'app-1.sock', tmp_path / 'app-2.sock']
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
    env |= {'ENCLAVE_SOCKET': str(socket_path), 'ENCLAVE_PORT': '1', 'ENCLAVE_WORKERS': '2'}  # a port it must not open
    server = subprocess.Popen(
        [sys.executable, '-m', 'appliance.cli', 'serve', '--no-migrate'],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for path in paths:
            body = b''
            for _ in range(240):
                try:
                    connection = UnixConnection('localhost')
                    connection.request('GET', '/healthz')
                    body = connection.getresponse().read()
                    break
                except OSError:
                    time.sleep(0.25)
            assert b'"status":"ok"' in body, server.stdout.read1().decode() if server.stdout else ''  # type: ignore[union-attr]
            assert oct(path.stat().st_mode & 0o777) == oct(0o666)
        processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        assert len(processes) == 3  # the supervisor and its two workers
        listening = [c for p in processes for c in p.net_connections('inet') if c.status == psutil.CONN_LISTEN]
        assert listening == []
    finally:
        server.terminate()
        server.wait(timeout=30)
