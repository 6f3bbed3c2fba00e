"""The support bundle: a zip made on this box for the admin to download and, if they choose, send to support.

Inside: versions, the redacted config, the health history of the last 7 days (CSV) and the checks now, and the
newest part of the app log. Personal data and secrets are replaced by numbered placeholders (`<email-1>`,
`<user-1>`, `<ip-1>`, `<secret-1>`): the same value always gets the same placeholder, so support can still follow
one user or one address through the log without learning who or where it is. Nothing is ever sent anywhere: the
admin sees every file (size and first lines) before downloading, and the download is audited.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import platform
import re
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance import __version__
from appliance.config import Settings
from appliance.db import utcnow
from appliance.logs import log_dir, mask_secrets
from appliance.models import User
from appliance.modules import Registry
from appliance.secrets import install_id
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.health.services import run_checks
from console.logs.services import logview
from console.models import HealthSample

PERMISSION = 'console.manage'
LOG_BYTES = 5 * 2**20  # the newest 5 MB of the log
HISTORY_DAYS = 7
PREVIEW_LINES = 8
PREVIEW_WIDTH = 240
OS_RELEASE = Path('/etc/os-release')
_SECRET_KEY = re.compile(r'(?i)password|passwd|secret|token|key|credential|dsn')
_OPEN, _CLOSE = '\ue000', '\ue001'  # marks placeholders while redacting, so no later pass rewrites them

_EMAIL = re.compile(r'(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}')
_IPV4 = re.compile(r'(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)')
_IPV6 = re.compile(r'(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])')
_LONG_TOKEN = re.compile(r'(?<![\w-])[A-Za-z0-9_-]{32,}(?![\w-])')
_KEEP_IPS = frozenset({'127.0.0.1', '0.0.0.0', '::1', '::'})  # noqa: S104 - shown, not bound: not personal


class Redactor:
    """Replaces secrets, e-mail addresses, IP addresses and the names of known users by numbered placeholders."""

    def __init__(self, people: Iterable[tuple[str, str, str]] = ()) -> None:
        """`people`: (username, display name, e-mail) of every account."""
        self._seen: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self._names: dict[str, str] = {}  # casefolded name -> the key of its person
        for index, (username, display_name, email) in enumerate(people):
            key = f'person-{index}'
            # The whole name, the username and the e-mail; single words of the display name when long enough to
            # mean something (a CJK given name has two characters).
            terms = [term for term in (username, display_name.strip(), email) if len(term) >= 2]
            terms += [
                part for part in display_name.split() if len(part) >= 3 or (len(part) >= 2 and not part.isascii())
            ]
            for term in terms:
                self._names.setdefault(term.casefold(), key)
        terms = sorted(self._names, key=len, reverse=True)
        alternatives = [re.escape(t) if not t.isascii() else rf'(?<![\w{_OPEN}]){re.escape(t)}(?!\w)' for t in terms]
        self._name_pattern = re.compile('|'.join(alternatives), re.IGNORECASE) if alternatives else None

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value.casefold())
        if key not in self._seen:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self._seen[key] = f'{_OPEN}{kind}-{self._counts[kind]}{_CLOSE}'
        return self._seen[key]

    def _secret(self, value: str) -> str:
        return value if _OPEN in value else self._placeholder('secret', value.strip('"\''))

    def _ip(self, match: re.Match[str]) -> str:
        text = match.group(0)
        try:
            address = ipaddress.ip_address(text.split('%')[0])
        except ValueError:
            return text
        return text if str(address) in _KEEP_IPS else self._placeholder('ip', str(address))

    def _token(self, match: re.Match[str]) -> str:
        text = match.group(0)
        random_looking = any(c.isupper() for c in text) and any(c.islower() for c in text)
        return self._placeholder('secret', text) if random_looking and any(c.isdigit() for c in text) else text

    def __call__(self, text: str) -> str:
        """`text` with everything private replaced by its placeholder."""
        text = mask_secrets(text, self._secret)
        text = _EMAIL.sub(lambda m: self._placeholder('email', m.group(0)), text)
        text = _IPV4.sub(self._ip, text)
        text = _IPV6.sub(self._ip, text)
        text = _LONG_TOKEN.sub(self._token, text)
        if self._name_pattern is not None:
            text = self._name_pattern.sub(lambda m: self._placeholder('user', self._names[m.group(0).casefold()]), text)
        return text.replace(_OPEN, '<').replace(_CLOSE, '>')

    def value(self, data: Any) -> Any:
        """A JSON-like value with every string in it redacted (keys are kept)."""
        if isinstance(data, str):
            return self(data)
        if isinstance(data, dict):
            return {key: self.value(item) for key, item in data.items()}
        if isinstance(data, list):
            return [self.value(item) for item in data]
        return data


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle."""

    name: str
    content: bytes

    @property
    def size(self) -> int:
        """Its size in bytes."""
        return len(self.content)

    def head(self, lines: int = PREVIEW_LINES) -> list[str]:
        """Its first lines (each cut to a readable width), for the preview."""
        text = self.content[: 64 * 1024].decode('utf-8', errors='replace')
        return [line[:PREVIEW_WIDTH] for line in text.splitlines()[:lines]]


@dataclass(frozen=True)
class Bundle:
    """The files of a support bundle, made at `created_at`."""

    files: list[BundleFile]
    created_at: datetime

    @property
    def filename(self) -> str:
        """The name the download gets."""
        return f'enclave-support-{self.created_at:%Y%m%d-%H%M%S}.zip'

    def to_zip(self) -> bytes:
        """The bundle as a zip archive."""
        buffer = io.BytesIO()
        stamp = self.created_at.timetuple()[:6]
        with zipfile.ZipFile(buffer, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
            for item in self.files:
                info = zipfile.ZipInfo(item.name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o640 << 16
                archive.writestr(info, item.content)
        return buffer.getvalue()


def restic_version(binary: str = 'restic') -> str:
    """`restic version`'s answer, or why there is none."""
    path = shutil.which(binary)
    if path is None:
        return 'not installed'
    try:
        result = subprocess.run([path, 'version'], capture_output=True, text=True, timeout=15, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as error:
        return f'unknown ({error})'
    if result.returncode != 0:
        return f'unknown (exit {result.returncode}: {result.stderr.strip()[:200]})'
    return result.stdout.strip().splitlines()[0] if result.stdout.strip() else 'unknown'


def os_name(path: Path = OS_RELEASE) -> str:
    """The operating system's PRETTY_NAME from /etc/os-release, else the kernel's name and release."""
    try:
        for line in path.read_text(encoding='utf-8', errors='replace').splitlines():
            key, _sep, value = line.partition('=')
            if key.strip() == 'PRETTY_NAME':
                return value.strip().strip('"\'')
    except OSError:
        pass
    return f'{platform.system()} {platform.release()}'


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return 'unknown'


def versions(settings: Settings) -> dict[str, str]:
    """What runs here: Enclave, Python, SQLite, restic, the OS, NiceGUI, the database kind, the install id."""
    return {
        'enclave': __version__,
        'python': platform.python_version(),
        'sqlite': sqlite3.sqlite_version,
        'restic': restic_version(),
        'os': os_name(),
        'nicegui': _package_version('nicegui'),
        'database': 'sqlite' if settings.is_sqlite else settings.sqlalchemy_url.split(':', 1)[0],
        'install_id': install_id(settings.data_dir),
    }


def redacted_config(settings: Settings, redact: Redactor) -> dict[str, Any]:
    """Settings.redacted(), without any key that looks like a secret, and with private values replaced."""
    values = {key: value for key, value in settings.redacted().items() if not _SECRET_KEY.search(key)}
    return dict(redact.value(values))


def health_history_csv(session: Session, *, now: datetime, days: int = HISTORY_DAYS) -> bytes:
    """The health samples of the last `days` days, oldest first, as CSV."""
    columns = [column.name for column in HealthSample.__table__.columns if column.name != 'id']
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    query = select(HealthSample).where(HealthSample.taken_at >= now - timedelta(days=days))
    for sample in session.scalars(query.order_by(HealthSample.taken_at).execution_options(yield_per=1000)):
        row = [getattr(sample, name) for name in columns]
        writer.writerow([value.isoformat() if isinstance(value, datetime) else value for value in row])
    return buffer.getvalue().encode()


def redacted_log(settings: Settings, redact: Redactor, *, max_bytes: int = LOG_BYTES) -> bytes:
    """The newest `max_bytes` of the app log, oldest line first, each record's text redacted."""
    out: list[str] = []
    for line in logview.tail_lines(log_dir(settings.data_dir), max_bytes=max_bytes):
        record = logview.parse_line(line)
        if record.raw:
            out.append(redact(line))
            continue
        entry = {'time': record.time.isoformat() if record.time else '', 'level': record.level}
        entry |= {'logger': record.logger, 'message': redact(record.message)}
        if record.exc:
            entry['exc'] = redact(record.exc)
        out.append(json.dumps(entry, ensure_ascii=False))
    return ''.join(f'{line}\n' for line in out).encode()


def _readme(created_at: datetime) -> bytes:
    # For the vendor's support staff, in English whatever the admin's language.
    return (
        f'Enclave support bundle, made {created_at.isoformat(timespec="seconds")} on the box itself.\n'
        'Nothing was sent anywhere: the admin downloaded this file and chose whom to give it to.\n\n'
        'versions.json        Enclave, Python, SQLite, restic, OS and NiceGUI versions\n'
        'config.json          the settings, without secrets\n'
        'health/checks.json   the health checks at the time the bundle was made\n'
        f'health/history.csv   the health samples of the last {HISTORY_DAYS} days\n'
        'logs/enclave.log     the newest part of the app log (JSON lines)\n\n'
        'Personal data and secrets are replaced by placeholders: <email-N>, <user-N>, <ip-N>, <secret-N>.\n'
        'The same value always has the same placeholder within this bundle.\n'
    ).encode()


def _people(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(select(User.username, User.display_name, User.email).order_by(User.id))
    return [(username, display_name or '', email or '') for username, display_name, email in rows]


def build_bundle(
    *, session: Session, actor: Actor, settings: Settings, registry: Registry, log_bytes: int = LOG_BYTES
) -> Bundle:
    """Make the bundle in memory (admins only); nothing is written to disk and nothing leaves the box."""
    require(actor, PERMISSION, target='console.support')
    now = utcnow()
    redact = Redactor(_people(session))
    checks = [
        {'name': check.name, 'status': check.status, 'message': redact(check.message)}
        for check in run_checks(data_dir=settings.data_dir, registry=registry)
    ]

    def as_json(data: Any) -> bytes:
        return (json.dumps(data, ensure_ascii=False, indent=2, default=str) + '\n').encode()

    files = [
        BundleFile('README.txt', _readme(now)),
        BundleFile('versions.json', as_json(versions(settings))),
        BundleFile('config.json', as_json(redacted_config(settings, redact))),
        BundleFile('health/checks.json', as_json(checks)),
        BundleFile('health/history.csv', health_history_csv(session, now=now)),
        BundleFile('logs/enclave.log', redacted_log(settings, redact, max_bytes=log_bytes)),
    ]
    return Bundle(files=files, created_at=now)


def record_download(*, session: Session, actor: Actor, bundle: Bundle) -> bytes:
    """The bundle's zip for the admin's browser; the download is audited (which files, how many bytes)."""
    require(actor, PERMISSION, target='console.support')
    data = bundle.to_zip()
    audit.record(
        session=session,
        actor=actor,
        action='console.support_bundle.download',
        target=bundle.filename,
        details={'files': [item.name for item in bundle.files], 'bytes': len(data)},
    )
    return data
