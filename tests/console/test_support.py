"""The support bundle: what is inside, that nothing personal or secret is left in it, the preview, the audit."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nicegui.testing import User as UIUser

from appliance.config import Settings, get_settings
from appliance.db import get_database
from appliance.errors import PermissionDenied
from appliance.logs import log_dir
from appliance.models import User
from appliance.modules import current_registry
from console.logs.services import support
from console.models import HealthSample
from tests.appliance.support import audit_rows, sign_in_url
from tests.conftest import People, make_token, make_user

NOW = datetime.now(UTC)
EXPECTED_FILES = [
    'README.txt',
    'versions.json',
    'config.json',
    'health/checks.json',
    'health/history.csv',
    'logs/enclave.log',
]


def record(message: str, *, level: str = 'INFO', exc: str = '', age: timedelta = timedelta(minutes=5)) -> str:
    entry = {'time': (NOW - age).isoformat(), 'level': level, 'logger': 'enclave.auth', 'message': message}
    if exc:
        entry['exc'] = exc
    return json.dumps(entry, ensure_ascii=False)


def write_log(data_dir: Path, lines: list[str], name: str = 'enclave.log') -> None:
    folder = log_dir(data_dir)
    folder.mkdir(exist_ok=True)
    with (folder / name).open('a', encoding='utf-8') as handle:
        handle.write(''.join(f'{line}\n' for line in lines))


def actor(user: User) -> User:
    with get_database().session() as session:
        found = session.get(User, user.id)
        assert found is not None
        return found


def bundle_for(user: User, **kwargs: int) -> support.Bundle:
    with get_database().session() as session:
        return support.build_bundle(
            session=session, actor=actor(user), settings=get_settings(), registry=current_registry(), **kwargs
        )


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name).decode('utf-8') for name in archive.namelist()}


@pytest.fixture
def private(people: People, data_dir: Path) -> dict[str, str]:
    """A log full of personal data and secrets; returns each of them by what it is."""
    make_user(username='dave', display_name='Dave 李娜', email='dave.li@corp.example')
    token = make_token(people.alice)
    values = {
        'email': 'dave.li@corp.example',
        'username': 'dave',
        'display': 'Dave 李娜',
        'given_cjk': '李娜',
        'bob_name': 'Bob 张伟',
        'ipv4': '10.20.30.40',
        'ipv6': '2001:db8::7',
        'password': 'Sup3r-Secret!',
        'token': token,
        'ticket': 'Tk3t-abcdefghijkl',
        'restic': 'Rp-Restic-Pass-77',
    }
    write_log(
        data_dir,
        [
            record('dave signed in from 10.20.30.40 as dave.li@corp.example'),
            record('Failed login for dave from 10.20.30.40', level='WARNING'),
            record('Bob 张伟 uploaded a file from 2001:db8::7; 李娜 was notified'),
            record('Token used: Authorization: Bearer ' + token),
            record('GET /auth/session?ticket=Tk3t-abcdefghijkl&next=/ 303'),
            record(
                'Backup failed',
                level='ERROR',
                exc='RuntimeError: RESTIC_PASSWORD=Rp-Restic-Pass-77 refused for dave.li@corp.example',
            ),
            record('password reset with password=Sup3r-Secret! by alice'),
            'half-written line from dave at 10.20.30.40 password=Sup3r-Secret!',
        ],
    )
    return values


def test_it_bundles_versions_config_health_and_logs(people: People, private: dict[str, str]) -> None:
    bundle = bundle_for(people.alice)
    assert [item.name for item in bundle.files] == EXPECTED_FILES
    files = unzip(bundle.to_zip())
    assert list(files) == EXPECTED_FILES
    versions = json.loads(files['versions.json'])
    assert versions['sqlite'] == sqlite3.sqlite_version
    assert versions['restic'].startswith('restic 0.')
    assert versions['os'] and versions['python'].startswith('3.11')
    assert set(versions) >= {'enclave', 'nicegui', 'install_id', 'database'}
    config = json.loads(files['config.json'])
    assert config['port'] == get_settings().port
    checks = {check['name']: check['status'] for check in json.loads(files['health/checks.json'])}
    assert checks['database'] == 'green'
    assert checks['console.log_errors'] == 'green'  # one error in the last hour
    log_lines = files['logs/enclave.log'].splitlines()
    assert len(log_lines) == 8
    assert [json.loads(text)['level'] for text in log_lines[:7]] == [
        'INFO',
        'WARNING',
        'INFO',
        'INFO',
        'INFO',
        'ERROR',
        'INFO',
    ]
    assert 'Nothing was sent anywhere' in files['README.txt']


def test_it_leaves_no_personal_data_or_secret_in_the_bundle(people: People, private: dict[str, str]) -> None:
    files = unzip(bundle_for(people.alice).to_zip())
    everything = '\n'.join(files.values())
    for what, value in private.items():
        assert value not in everything, what
    for person in ('alice', 'bob', 'charlie', 'Alice Admin', 'Charlie Outsider'):
        assert person not in everything
    log = files['logs/enclave.log']
    first = json.loads(log.splitlines()[0])['message']
    assert first == '<user-1> signed in from <ip-1> as <email-1>'
    # The same value keeps its placeholder, so one person or address can still be followed through the log.
    assert json.loads(log.splitlines()[1])['message'] == 'Failed login for <user-1> from <ip-1>'
    assert json.loads(log.splitlines()[2])['message'] == '<user-2> uploaded a file from <ip-2>; <user-1> was notified'
    assert 'refused for <email-1>' in json.loads(log.splitlines()[5])['exc']
    password = json.loads(log.splitlines()[6])['message']
    assert password.startswith('password reset with password=<secret-') and password.endswith(' by <user-3>')
    placeholder = password.split('=')[1].split()[0]
    assert log.splitlines()[7] == f'half-written line from <user-1> at <ip-1> password={placeholder}'


def test_it_hides_secrets_and_private_values_of_the_config(data_dir: Path) -> None:
    settings = Settings(
        data_dir=data_dir / 'home' / 'alice' / 'enclave',
        database_url='postgresql://enclave:Db-Pass-9@10.1.1.5/enclave',
    )
    values = support.redacted_config(settings, support.Redactor([('alice', 'Alice Admin', '')]))
    text = json.dumps(values)
    assert 'Db-Pass-9' not in text and '10.1.1.5' not in text and '/alice/' not in text
    assert values['database_url'] == 'postgresql://***@<ip-1>/enclave'
    assert values['data_dir'].endswith('/home/<user-1>/enclave')


def test_it_puts_the_last_seven_days_of_health_samples_in_a_csv(people: People) -> None:
    with get_database().session() as session:
        for days, cpu in ((8, 99.0), (6, 41.5), (0, 12.25)):
            session.add(HealthSample(taken_at=NOW - timedelta(days=days), cpu_percent=cpu, disk_free_bytes=5 * 2**30))
    files = unzip(bundle_for(people.alice).to_zip())
    rows = list(csv.DictReader(io.StringIO(files['health/history.csv'])))
    assert [float(row['cpu_percent']) for row in rows] == [41.5, 12.25]
    assert rows[0]['disk_free_bytes'] == str(5 * 2**30)
    assert datetime.fromisoformat(rows[0]['taken_at']) < datetime.fromisoformat(rows[1]['taken_at'])


def test_it_takes_only_the_newest_part_of_a_long_log(people: People, data_dir: Path) -> None:
    write_log(data_dir, [record(f'older {n}', age=timedelta(hours=3)) for n in range(50)], 'enclave.log.1')
    write_log(data_dir, [record(f'newer {n}') for n in range(50)])
    bundle = bundle_for(people.alice, log_bytes=2000)
    log = next(item for item in bundle.files if item.name == 'logs/enclave.log').content.decode()
    messages = [json.loads(text)['message'] for text in log.splitlines()]
    assert messages[-1] == 'newer 49'
    assert 0 < len(messages) < 30 and all(message.startswith('newer') for message in messages)


def test_it_previews_every_file_with_its_size_and_first_lines(people: People, private: dict[str, str]) -> None:
    bundle = bundle_for(people.alice)
    for item in bundle.files:
        assert item.size == len(item.content) > 0
        head = item.head()
        assert 0 < len(head) <= support.PREVIEW_LINES
        assert head == item.content.decode().splitlines()[: len(head)]
    readme = bundle.files[0]
    assert readme.head(2) == readme.content.decode().splitlines()[:2]


def test_it_audits_the_download(people: People, private: dict[str, str]) -> None:
    bundle = bundle_for(people.alice)
    with get_database().session() as session:
        data = support.record_download(session=session, actor=actor(people.alice), bundle=bundle)
    assert set(unzip(data)) == set(EXPECTED_FILES)
    [event] = audit_rows('console.support_bundle')
    assert (event.action, event.actor_name, event.target) == (
        'console.support_bundle.download',
        'alice',
        bundle.filename,
    )
    details = json.loads(event.details)
    assert details == {'files': EXPECTED_FILES, 'bytes': len(data)}


@pytest.mark.parametrize('who', ['bob', 'charlie'])
def test_it_refuses_the_bundle_to_non_admins(people: People, who: str) -> None:
    with pytest.raises(PermissionDenied):
        bundle_for(getattr(people, who))
    admin_bundle = bundle_for(people.alice)
    with get_database().session() as session, pytest.raises(PermissionDenied):
        support.record_download(session=session, actor=actor(getattr(people, who)), bundle=admin_bundle)
    assert [event.actor_name for event in audit_rows('permission.denied')] == [who, who]
    assert audit_rows('console.support_bundle') == []


def test_it_reads_the_os_name_and_copes_without_restic(tmp_path: Path) -> None:
    release = tmp_path / 'os-release'
    release.write_text('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    assert support.os_name(release) == 'Debian GNU/Linux 12 (bookworm)'
    assert support.os_name(tmp_path / 'missing')  # falls back to the kernel's name
    assert support.restic_version('restic-not-installed-here') == 'not installed'


# ---- the page ---------------------------------------------------------------------------------------------------


async def test_it_previews_the_bundle_then_downloads_it(user: UIUser, people: People, private: dict[str, str]) -> None:
    await user.open(sign_in_url('alice', next_path='/console/support'))
    await user.should_see('Nothing is sent anywhere')
    await user.should_not_see(marker='support-download')
    user.find(marker='support-prepare').click()
    await user.should_see(marker='support-download', retries=50)
    for name in EXPECTED_FILES:
        await user.should_see(marker=f'support-file:{name}')
        await user.should_see(name)
    await user.should_see('6 files in the bundle:')
    await user.should_see('"sqlite"')  # the first lines of versions.json
    assert audit_rows('console.support_bundle') == []  # a preview is not a download

    user.find(marker='support-download').click()
    response = await user.download.next()
    files = unzip(response.content)
    assert list(files) == EXPECTED_FILES
    everything = '\n'.join(files.values())
    assert all(value not in everything for value in private.values())
    [event] = audit_rows('console.support_bundle.download')
    assert event.actor_name == 'alice'
    assert json.loads(event.details)['bytes'] == len(response.content)
