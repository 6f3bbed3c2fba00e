"""Typed settings: defaults, then the TOML file, then ENCLAVE_* environment variables (highest)."""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

import pydantic
from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

IMAGE_CONFIG_FILE = Path('/etc/enclave/enclave.toml')


def default_data_dir() -> Path:
    """`./var` during development; the image sets ENCLAVE_DATA_DIR=/var/lib/enclave."""
    return Path(os.environ.get('ENCLAVE_DATA_DIR', 'var')).resolve()


def config_file() -> Path:
    """The TOML file to read: ENCLAVE_CONFIG, else the image's file if present, else the data dir's."""
    explicit = os.environ.get('ENCLAVE_CONFIG')
    if explicit:
        return Path(explicit)
    if IMAGE_CONFIG_FILE.exists():
        return IMAGE_CONFIG_FILE
    return default_data_dir() / 'enclave.toml'


class StartupError(RuntimeError):
    """The data dir, its keys or the configuration cannot be used as they are; the message names the path or the
    setting and what to do. Start-up and every command end with exit status 2 on it, having changed nothing."""


class _EnvSource(EnvSettingsSource):
    """ENCLAVE_* variables; a list setting also takes a comma-separated list (`projects,tasks`) besides JSON."""

    def prepare_field_value(self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool) -> Any:
        # An operator writes ENCLAVE_ENABLED_MODULES=projects,tasks far more often than a JSON list; only a value
        # that looks like JSON goes to the JSON decoder (whose error would otherwise be a traceback).
        if field.annotation == list[str] and isinstance(value, str) and not value.lstrip().startswith('['):
            return [item.strip() for item in value.split(',') if item.strip()]
        return super().prepare_field_value(field_name, field, value, value_is_complex)


class Settings(BaseSettings):
    """Everything an admin can configure. Secrets are not settings: see `appliance.secrets`."""

    model_config = SettingsConfigDict(env_prefix='ENCLAVE_', extra='forbid')

    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = '127.0.0.1'
    port: int = Field(default=8080, ge=1, le=65535)
    # A Unix socket to listen on instead of host:port (the appliance: nginx proxies to /run/enclave/app.sock).
    socket: str = ''
    # App processes (each its own event loop and core). 0: automatic, one per core when serving on `socket` behind
    # the appliance's nginx (which keeps each browser on one process), else 1: a bare TCP listener has nothing in
    # front of it to send a page's WebSocket back to the process that built the page.
    workers: int = Field(default=0, ge=0, le=64)
    # Proxies whose X-Forwarded-For/-Proto are believed on TCP (addresses or networks); the socket's peer always is.
    trusted_proxies: list[str] = Field(default_factory=list)
    # The local CA's certificate that the setup wizard offers for download (the appliance: /etc/enclave/tls/ca.crt).
    ca_certificate: str = ''
    # nginx's certificate, which Maintenance → Certificate shows and asks the root side to replace (the appliance:
    # /etc/enclave/tls/server.crt); empty where Enclave does not run the HTTPS in front of it.
    server_certificate: str = ''
    database_url: str = ''  # empty: SQLite at <data_dir>/enclave.db
    enabled_modules: list[str] = Field(default_factory=lambda: ['projects', 'tasks', 'people'])
    # The largest file a user may upload (attachments, drive), in MiB.
    max_upload_mb: int = Field(default=2048, ge=1)
    # Served over TLS (behind nginx in the image): marks the session cookie Secure.
    https: bool = False
    session_idle_minutes: int = Field(default=120, ge=1)
    session_max_hours: int = Field(default=24 * 7, ge=1)
    password_min_length: int = Field(default=10, ge=8, le=128)
    login_throttle_free_attempts: int = Field(default=5, ge=1)
    login_throttle_max_delay_seconds: int = Field(default=900, ge=1)
    default_language: str = 'en'
    scheduler_enabled: bool = True
    log_level: str = 'INFO'

    @field_validator('trusted_proxies')
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as error:
                raise ValueError(
                    f'trusted_proxies: "{entry}" is not an IP address or network (e.g. 10.0.0.5)'
                ) from error
        return value

    @field_validator('default_language')
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ('en', 'zh_CN'):
            raise ValueError('default_language must be "en" or "zh_CN"')
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _EnvSource(settings_cls),
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to the SQLite file in the data dir."""
        return self.database_url or f'sqlite:///{self.data_dir / "enclave.db"}'

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite (the default)."""
        return self.sqlalchemy_url.startswith('sqlite')

    @property
    def worker_count(self) -> int:
        """How many app processes `enclave serve` runs (see `workers`)."""
        if self.workers:
            return self.workers
        return max(1, os.cpu_count() or 1) if self.socket else 1

    def redacted(self) -> dict[str, Any]:
        """Settings as a dict with the password in the database URL hidden, for logs and support bundles."""
        values = self.model_dump(mode='json')
        if '@' in values['database_url']:
            scheme, rest = values['database_url'].split('://', 1)
            values['database_url'] = f'{scheme}://***@{rest.rsplit("@", 1)[1]}'
        return values


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f'uid {uid}'


def check_data_dir(settings: Settings) -> None:
    """Refuse, with a sentence and before anything is written, a data dir this process cannot use as it is.

    - a data dir (or its `keys`) that is not a folder;
    - a data dir that belongs to another account while running as root: root could write to it, but every file it
      made would then belong to root and the service's own account could no longer read it;
    - a data dir this account cannot write to (read-only, or owned by someone else).
    """
    data = settings.data_dir
    if data.exists() and not data.is_dir():
        raise StartupError(f'The data dir {data} is a file, not a folder; set ENCLAVE_DATA_DIR to a folder.')
    if not data.exists():
        parent = next((p for p in data.parents if p.exists()), data.parent)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StartupError(
                f'Cannot create the data dir {data}: {parent} is not writable by {_owner_name(os.geteuid())}. '
                'Create the folder for this account, or set ENCLAVE_DATA_DIR to one it can write to.'
            )
        return
    owner = data.stat().st_uid
    if os.geteuid() == 0 and owner != 0:
        raise StartupError(
            f'The data dir {data} belongs to {_owner_name(owner)}, but this command runs as root, which would leave '
            f'files there that {_owner_name(owner)} cannot read. Run it as that account '
            f'(e.g. runuser -u {_owner_name(owner)} -- enclave ...).'
        )
    if not os.access(data, os.W_OK | os.X_OK):
        if owner == os.geteuid():
            raise StartupError(
                f'The data dir {data} is read-only; make it writable (chmod u+rwx {data}, or mount it read-write) '
                'and start again.'
            )
        raise StartupError(
            f'Cannot write to the data dir {data}: it belongs to {_owner_name(owner)} and this runs as '
            f'{_owner_name(os.geteuid())}. Run Enclave as {_owner_name(owner)}, or set ENCLAVE_DATA_DIR to a folder '
            'this account owns.'
        )
    keys = data / 'keys'
    if keys.exists() and not keys.is_dir():
        raise keys_not_a_folder(keys)


def keys_not_a_folder(keys: Path) -> StartupError:
    """The refusal for a `keys` that is a file."""
    return StartupError(
        f'{keys} is a file, but Enclave keeps its keys in a folder of that name. Move the file away and restore '
        'the keys folder from a backup (enclave restore); on a new, empty install just delete the file.'
    )


def prepare_data_dir(settings: Settings) -> None:
    """Create the data dir (0750) and the secrets that can be made at any time (each made once, never regenerated).

    The data key is not made here: only `appliance.secrets.check_data_key`, which knows whether the database holds
    anything encrypted with an earlier key, may create it.
    """
    from appliance.secrets import install_id, session_secret

    check_data_dir(settings)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o750)  # noqa: S103 - group read for the backup service
    except OSError as error:
        raise StartupError(f'Cannot prepare the data dir {settings.data_dir}: {error.strerror}.') from error
    session_secret(settings.data_dir)
    install_id(settings.data_dir)


def load_settings() -> Settings:
    """The settings, or StartupError with a sentence naming the file or the setting that is wrong."""
    path = config_file()
    try:
        return get_settings()
    except UnicodeDecodeError as error:
        raise StartupError(
            f'The configuration file {path} is not UTF-8 text; save it as UTF-8 and start again.'
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise StartupError(
            f'The configuration file {path} is not valid TOML ({error}); fix it and start again.'
        ) from error
    except pydantic.ValidationError as error:
        raise StartupError(f'The configuration is invalid; fix it and start again.\n{error}') from error
    except SettingsError as error:
        field = re.search(r'field "(\w+)"', str(error))
        variable = f'ENCLAVE_{field.group(1).upper()}' if field else 'An ENCLAVE_* variable'
        raise StartupError(
            f'{variable} cannot be read: it starts like JSON but is not. Give a list as ["projects", "tasks"] or '
            'as projects,tasks and start again.'
        ) from error
    except OSError as error:
        raise StartupError(
            f'Cannot read the configuration file {path}: {error.strerror}. Make it a readable file, or set '
            'ENCLAVE_CONFIG to one.'
        ) from error


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()` after changing the env)."""
    return Settings()
