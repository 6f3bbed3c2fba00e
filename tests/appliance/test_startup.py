"""Start-up and every `enclave` command refuse a data dir, key or setting they cannot use, with one sentence.

Each case runs the real `enclave` command in a subprocess (as root, or as `nobody` through setpriv where the
case is about another account) and checks: exit status 2, the sentence names the path or setting, no traceback,
and nothing in the data dir changed. The data key is made only for a database without accounts, and a replaced
key is recognised by the check value the database keeps.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest

from appliance.config import get_settings, prepare_data_dir
from appliance.db import get_database
from appliance.models import User
from appliance.secrets import KEY_CHECK_SETTING, key_check_value, record_key_check
from appliance.services import auth, twofactor
from tests.conftest import PASSWORD, People
from tests.livesrv import free_port

ENCLAVE = Path(sys.executable).parent / 'enclave'
# `nobody` cannot enter /root (where the interpreter lives) or pytest's 0700 temp folder: it may read and enter every
# folder (CAP_DAC_READ_SEARCH), but it writes only where the file modes let it, which is what these cases are about.
AS_NOBODY = [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--inh-caps=+dac_read_search',
    '--ambient-caps=+dac_read_search',
]
COMMANDS = [['serve', '--no-migrate'], ['migrate'], ['user', 'list'], ['backup', 'list'], ['health']]


def _argv_env(
    data_dir: Path, args: list[str], env: dict[str, str] | None, as_nobody: bool
) -> tuple[list[str], dict[str, str]]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(('ENCLAVE_', 'NICEGUI_', 'PYTEST_'))}
    clean.update(
        {
            'ENCLAVE_DATA_DIR': str(data_dir),
            'ENCLAVE_CONFIG': str(data_dir / 'enclave.toml'),
            'ENCLAVE_SCHEDULER_ENABLED': 'false',
            'ENCLAVE_PORT': str(free_port()),
            'NICEGUI_STORAGE_PATH': str(data_dir / 'nicegui'),
            **(env or {}),
        }
    )
    return ([*AS_NOBODY, str(ENCLAVE), *args] if as_nobody else [str(ENCLAVE), *args]), clean


def run_enclave(
    data_dir: Path, args: list[str], *, env: dict[str, str] | None = None, as_nobody: bool = False
) -> subprocess.CompletedProcess[str]:
    """`enclave <args>` in a subprocess on `data_dir`."""
    argv, full_env = _argv_env(data_dir, args, env, as_nobody)
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=120, check=False)


def run_every_command(
    data_dir: Path, *, env: dict[str, str] | None = None, as_nobody: bool = False
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each of COMMANDS at once (each should refuse at once; one that serves instead times out)."""
    started = {}
    for args in COMMANDS:
        argv, full_env = _argv_env(data_dir, args, env, as_nobody)
        started[' '.join(args)] = (
            argv,
            subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        )
    results = {}
    for name, (argv, process) in started.items():
        try:
            stdout, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        results[name] = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    return results


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path under `folder` (itself included) with its mode, owner and content; SQLite's -wal/-shm aside
    (opening a database makes them), the database itself compared by content."""
    paths = [folder, *sorted(folder.rglob('*'))]
    result: dict[str, tuple[int, int, bytes | None]] = {}
    for path in paths:
        if path.name.endswith(('-wal', '-shm')):
            continue
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        result[str(path.relative_to(folder))] = (info.st_mode, info.st_uid, content)
    return result


def assert_refused(results: dict[str, subprocess.CompletedProcess[str]], *phrases: str) -> None:
    for name, result in results.items():
        assert result.returncode == 2, (name, result.returncode, result.stdout, result.stderr)
        assert 'Traceback' not in result.stderr + result.stdout, (name, result.stderr)
        for phrase in phrases:
            assert phrase in result.stderr, (name, result.stderr)


@pytest.fixture
def used_data_dir(data_dir: Path, people: People) -> Path:
    """The per-test data dir as a box in use has it: accounts, keys and the key's check value, nothing open."""
    prepare_data_dir(get_settings())  # its secrets and folder modes, as a box in use has them
    record_key_check(data_dir, get_database().engine)
    get_database().dispose()
    return data_dir


# ---- the data key ---------------------------------------------------------------------------------------------


def test_it_refuses_to_start_without_the_data_key_once_accounts_exist(used_data_dir: Path) -> None:
    key = used_data_dir / 'keys' / 'data-key'
    key.unlink()
    before = snapshot(used_data_dir)

    results = run_every_command(used_data_dir)

    assert_refused(results, f'The data key {key} is missing', 'Restore the keys folder from a backup')
    assert not key.exists()
    assert snapshot(used_data_dir) == before


def test_it_refuses_a_replaced_data_key(used_data_dir: Path) -> None:
    key = used_data_dir / 'keys' / 'data-key'
    key.write_bytes(os.urandom(32))
    before = snapshot(used_data_dir)

    results = run_every_command(used_data_dir)

    assert_refused(results, f'The data key {key} is not the one this database was written with')
    assert snapshot(used_data_dir) == before


def test_it_makes_the_data_key_and_its_check_value_for_a_new_database(tmp_path: Path) -> None:
    fresh = tmp_path / 'fresh'

    result = run_enclave(fresh, ['migrate'])

    assert result.returncode == 0, result.stderr
    key = (fresh / 'keys' / 'data-key').read_bytes()
    assert len(key) == 32
    with sqlite3.connect(fresh / 'enclave.db') as connection:
        stored = connection.execute('SELECT value FROM core_settings WHERE key = ?', (KEY_CHECK_SETTING,)).fetchone()
    assert stored == (key_check_value(key),)
    assert run_enclave(fresh, ['migrate']).returncode == 0
    assert (fresh / 'keys' / 'data-key').read_bytes() == key


def test_it_records_the_check_value_of_a_database_from_before(data_dir: Path, people: People) -> None:
    key = (data_dir / 'keys' / 'data-key').read_bytes()
    get_database().dispose()

    assert run_enclave(data_dir, ['user', 'list']).returncode == 0

    with sqlite3.connect(data_dir / 'enclave.db') as connection:
        stored = connection.execute('SELECT value FROM core_settings WHERE key = ?', (KEY_CHECK_SETTING,)).fetchone()
    assert stored == (key_check_value(key),)


def test_it_refuses_a_two_factor_sign_in_with_a_sentence_when_the_secret_cannot_be_read(
    data_dir: Path, people: People
) -> None:
    secret = twofactor.new_secret()
    with get_database().session() as session:
        user = session.get(User, people.bob.id)
        assert user is not None
        twofactor.enable(session=session, actor=user, secret=secret, code=pyotp.TOTP(secret).now())
    (data_dir / 'keys' / 'data-key').write_bytes(os.urandom(32))  # replaced under a running server
    twofactor._fernet.cache_clear()

    with pytest.raises(twofactor.TwoFactorUnreadable, match='Ask your administrator to restore the data key'):
        with get_database().session() as session:
            auth.authenticate(
                session=session, username='bob', password=PASSWORD, ip='127.0.0.1', totp_code=pyotp.TOTP(secret).now()
            )
    twofactor._fernet.cache_clear()


# ---- a data dir, keys or settings that cannot be used ---------------------------------------------------------


def _read_only(data: Path) -> tuple[dict[str, str], bool, str]:
    subprocess.run(['chown', '-R', 'nobody:nogroup', str(data)], check=True)
    data.chmod(0o555)
    return {}, True, f'The data dir {data} is read-only'


def _owned_by_nobody_run_as_root(data: Path) -> tuple[dict[str, str], bool, str]:
    subprocess.run(['chown', '-R', 'nobody:nogroup', str(data)], check=True)
    return {}, False, f'The data dir {data} belongs to nobody, but this command runs as root'


def _owned_by_root_run_as_nobody(data: Path) -> tuple[dict[str, str], bool, str]:
    data.chmod(0o750)
    return {}, True, f'Cannot write to the data dir {data}: it belongs to root and this runs as nobody'


def _damaged_key(data: Path) -> tuple[dict[str, str], bool, str]:
    (data / 'keys' / 'data-key').write_bytes(b'short')
    return {}, False, f'Key file {data / "keys" / "data-key"} is damaged'


def _keys_is_a_file(data: Path) -> tuple[dict[str, str], bool, str]:
    shutil.rmtree(data / 'keys')
    (data / 'keys').write_text('not a folder\n')
    return {}, False, f'{data / "keys"} is a file'


def _toml_not_utf8(data: Path) -> tuple[dict[str, str], bool, str]:
    (data / 'enclave.toml').write_bytes('default_language = "中文"\n'.encode('gb18030'))
    return {}, False, f'The configuration file {data / "enclave.toml"} is not UTF-8'


def _modules_not_json(data: Path) -> tuple[dict[str, str], bool, str]:
    return {'ENCLAVE_ENABLED_MODULES': '[projects, tasks'}, False, 'ENCLAVE_ENABLED_MODULES cannot be read'


BAD_CASES: list[Callable[[Path], tuple[dict[str, str], bool, str]]] = [
    _read_only,
    _owned_by_nobody_run_as_root,
    _owned_by_root_run_as_nobody,
    _damaged_key,
    _keys_is_a_file,
    _toml_not_utf8,
    _modules_not_json,
]


@pytest.mark.skipif(os.geteuid() != 0, reason='switches to the nobody account and chowns files (runs as root)')
@pytest.mark.parametrize('case', [pytest.param(case, id=case.__name__.strip('_')) for case in BAD_CASES])
def test_it_refuses_an_unusable_data_dir_or_setting_with_a_sentence(
    used_data_dir: Path, case: Callable[[Path], tuple[dict[str, str], bool, str]]
) -> None:
    env, as_nobody, sentence = case(used_data_dir)
    before = snapshot(used_data_dir)

    results = run_every_command(used_data_dir, env=env, as_nobody=as_nobody)

    assert_refused(results, sentence)
    assert snapshot(used_data_dir) == before


def test_it_takes_a_comma_separated_module_list_from_the_environment(
    used_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('ENCLAVE_ENABLED_MODULES', ' projects, tasks ')
    get_settings.cache_clear()
    assert get_settings().enabled_modules == ['projects', 'tasks']

    result = run_enclave(used_data_dir, ['user', 'list'], env={'ENCLAVE_ENABLED_MODULES': 'projects,tasks'})

    assert result.returncode == 0, result.stderr
    assert 'alice' in result.stdout
