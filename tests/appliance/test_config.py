"""Settings (defaults, the TOML file, ENCLAVE_* variables) and the secrets generated on first start."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from appliance.app import prepare_data_dir
from appliance.config import Settings, StartupError, config_file, get_settings
from appliance.secrets import data_encryption_key, get_or_create_secret, session_secret


@pytest.fixture
def toml(data_dir: Path) -> Path:
    return data_dir / 'enclave.toml'


def settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_it_has_safe_defaults(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('ENCLAVE_DATABASE_URL', raising=False)  # set when the suite runs against PostgreSQL
    current = settings()
    assert (current.host, current.port, current.https, current.enabled_modules) == (
        '127.0.0.1',
        8080,
        False,
        ['projects', 'tasks', 'people'],
    )
    assert current.data_dir == data_dir
    assert current.sqlalchemy_url == f'sqlite:///{data_dir / "enclave.db"}'
    assert current.is_sqlite


def test_it_reads_the_toml_file(toml: Path) -> None:
    toml.write_text(
        'port = 9000\nenabled_modules = ["projects", "tasks"]\ndefault_language = "zh_CN"\nhttps = true\n'
        'session_idle_minutes = 30\n',
        encoding='utf-8',
    )
    current = settings()
    assert (current.port, current.enabled_modules, current.default_language) == (9000, ['projects', 'tasks'], 'zh_CN')
    assert (current.https, current.session_idle_minutes) == (True, 30)


def test_it_lets_an_environment_variable_win_over_the_file(toml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml.write_text('port = 9000\nenabled_modules = ["tasks"]\n', encoding='utf-8')
    monkeypatch.setenv('ENCLAVE_PORT', '9100')
    monkeypatch.setenv('ENCLAVE_ENABLED_MODULES', '["projects", "wiki"]')
    current = settings()
    assert (current.port, current.enabled_modules) == (9100, ['projects', 'wiki'])


def test_it_reads_the_file_named_by_enclave_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / 'etc' / 'enclave.toml'
    elsewhere.parent.mkdir()
    elsewhere.write_text('port = 8443\n', encoding='utf-8')
    monkeypatch.setenv('ENCLAVE_CONFIG', str(elsewhere))
    assert config_file() == elsewhere
    assert settings().port == 8443


@pytest.mark.parametrize(
    ('line', 'field', 'reason'),
    [
        ('port = 70000', 'port', 'less than or equal to 65535'),
        ('port = "eighty"', 'port', 'valid integer'),
        ('default_language = "fr"', 'default_language', 'must be "en" or "zh_CN"'),
        ('password_min_length = 4', 'password_min_length', 'greater than or equal to 8'),
        ('enabled_modules = "tasks"', 'enabled_modules', 'valid list'),
        ('https = "maybe"', 'https', 'valid boolean'),
        ('prot = 8080', 'prot', 'Extra inputs are not permitted'),
    ],
)
def test_it_names_the_setting_and_the_problem_when_a_value_is_invalid(
    toml: Path, line: str, field: str, reason: str
) -> None:
    toml.write_text(line + '\n', encoding='utf-8')
    with pytest.raises(ValidationError) as caught:
        settings()
    assert field in str(caught.value)
    assert reason in str(caught.value)


def test_it_names_an_invalid_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ENCLAVE_SESSION_IDLE_MINUTES', '0')
    with pytest.raises(ValidationError, match='session_idle_minutes'):
        settings()


def test_it_hides_the_database_password_in_redacted_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ENCLAVE_DATABASE_URL', 'postgresql://enclave:s3cret@db.local:5432/enclave')
    redacted = settings().redacted()
    assert redacted['database_url'] == 'postgresql://***@db.local:5432/enclave'
    assert 's3cret' not in str(redacted)


# ---- secrets ------------------------------------------------------------------------------------------------


def test_it_creates_secret_files_readable_only_by_the_owner(data_dir: Path) -> None:
    prepare_data_dir(settings())
    session_secret(data_dir)
    keys = data_dir / 'keys'
    assert mode(keys) == 0o700
    assert sorted(path.name for path in keys.iterdir()) == ['data-key', 'install-id', 'storage-secret']
    assert {mode(path) for path in keys.iterdir()} == {0o600}
    assert mode(data_dir) == 0o750


def test_it_keeps_the_secrets_on_a_second_start(data_dir: Path) -> None:
    prepare_data_dir(settings())
    first = (session_secret(data_dir), data_encryption_key(data_dir))
    files = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in (data_dir / 'keys').iterdir()}
    prepare_data_dir(settings())
    assert (session_secret(data_dir), data_encryption_key(data_dir)) == first
    assert {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in (data_dir / 'keys').iterdir()} == files


def test_it_makes_different_secrets_for_different_purposes(data_dir: Path) -> None:
    assert bytes.fromhex(session_secret(data_dir)) != data_encryption_key(data_dir)
    assert len(data_encryption_key(data_dir)) == 32


def test_it_refuses_a_damaged_key_file(data_dir: Path) -> None:
    (data_dir / 'keys').mkdir(mode=0o700, exist_ok=True)
    (data_dir / 'keys' / 'data-key').write_bytes(b'short')
    with pytest.raises(StartupError, match=r'damaged .*Restore it from a backup'):
        get_or_create_secret(data_dir, 'data-key')


def test_it_leaves_no_temporary_files_behind(data_dir: Path) -> None:
    session_secret(data_dir)
    data_encryption_key(data_dir)
    assert not [path.name for path in (data_dir / 'keys').iterdir() if path.name.startswith('.')]
