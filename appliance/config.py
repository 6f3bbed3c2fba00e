"""Typed settings: defaults, then the TOML file, then ENCLAVE_* environment variables (highest)."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

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


class Settings(BaseSettings):
    """Everything an admin can configure. Secrets are not settings: see `appliance.secrets`."""

    model_config = SettingsConfigDict(env_prefix='ENCLAVE_', extra='forbid')

    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = '127.0.0.1'
    port: int = Field(default=8080, ge=1, le=65535)
    # A Unix socket to listen on instead of host:port (the appliance: nginx proxies to /run/enclave/app.sock).
    socket: str = ''
    # Proxies whose X-Forwarded-For/-Proto are believed on TCP (addresses or networks); the socket's peer always is.
    trusted_proxies: list[str] = Field(default_factory=lambda: ['127.0.0.1', '::1'])
    # The local CA's certificate that the setup wizard offers for download (the appliance: /etc/enclave/tls/ca.crt).
    ca_certificate: str = ''
    # nginx's certificate, which Maintenance → Certificate shows and asks the root side to replace (the appliance:
    # /etc/enclave/tls/server.crt); empty where Enclave does not run the HTTPS in front of it.
    server_certificate: str = ''
    database_url: str = ''  # empty: SQLite at <data_dir>/enclave.db
    enabled_modules: list[str] = Field(default_factory=lambda: ['projects', 'tasks'])
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
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to the SQLite file in the data dir."""
        return self.database_url or f'sqlite:///{self.data_dir / "enclave.db"}'

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite (the default)."""
        return self.sqlalchemy_url.startswith('sqlite')

    def redacted(self) -> dict[str, Any]:
        """Settings as a dict with the password in the database URL hidden, for logs and support bundles."""
        values = self.model_dump(mode='json')
        if '@' in values['database_url']:
            scheme, rest = values['database_url'].split('://', 1)
            values['database_url'] = f'{scheme}://***@{rest.rsplit("@", 1)[1]}'
        return values


def prepare_data_dir(settings: Settings) -> None:
    """Create the data dir (0750) and the secrets in it (each made once, never regenerated)."""
    from appliance.secrets import data_encryption_key, install_id, session_secret

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o750)  # noqa: S103 - group read for the backup service
    data_encryption_key(settings.data_dir)
    session_secret(settings.data_dir)
    install_id(settings.data_dir)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()` after changing the env)."""
    return Settings()
