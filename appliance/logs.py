"""The app's structured log: JSON lines in `<data_dir>/logs/enclave.log`, rotated by size, and plain lines on stderr.

Each line is one record: `{"time": ISO UTC, "level", "logger", "message"}` plus `"exc"` (the traceback) when there
is one. The files are 0640 in a 0750 folder (group read for the backup service, nobody else). The loggers covered
are `enclave` (and its children), NiceGUI's own (`nicegui`: exceptions in event handlers) and uvicorn's error log.
Obvious secrets (password=..., tokens, Authorization and Cookie headers, credentials in URLs) are masked in every
line written, on disk and on stderr. `configure` may be called any number of times (each UI test builds the app
again): it replaces its own handlers and never adds a second copy.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any

from appliance.config import Settings

LOG_NAME = 'enclave.log'
MAX_BYTES = 10 * 2**20  # one file; five older ones are kept beside it (60 MB at most)
BACKUP_COUNT = 5
FILE_MODE = 0o640
DIR_MODE = 0o750
# Loggers that get the file and stderr; uvicorn's error log writes to stderr itself, so it gets the file only.
APP_LOGGERS = ('enclave', 'nicegui')
UVICORN_LOGGER = 'uvicorn.error'
MASK = '***'

_SENSITIVE_KEY = r'[\w.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[\w.-]*'
# Each pattern names the secret part `v`; what surrounds it (the key, the header name) stays readable.
SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization: Bearer xyz (scheme and credentials), and Cookie headers up to the end of the header value.
    re.compile(r'(?i)\b(?:proxy-)?authorization["\']?\s*[:=]\s*["\']?(?P<v>(?:[a-z]+\s+)?[^\s"\',;}]+)'),
    re.compile(r'(?i)\b(?:set-)?cookie["\']?\s*[:=]\s*["\']?(?P<v>[^"\'\r\n}]+)'),
    re.compile(r'(?i)\b(?:bearer|basic)\s+(?P<v>[A-Za-z0-9._~+/=-]{8,})'),
    # key=value, key: value, "key": "value" where the key names a secret (RESTIC_PASSWORD=..., token=...).
    re.compile(rf'(?i)\b{_SENSITIVE_KEY}["\']?\s*[:=]\s*(?P<v>"[^"]*"|\'[^\']*\'|[^\s,;&"\'}}\]]+)'),
    # One-time login tickets and session cookies in query strings and cookie lists.
    re.compile(r'(?i)\b(?:ticket|enclave_session|session)=(?P<v>[^\s&;"\']+)'),
    # Credentials inside a URL: scheme://user:password@host.
    re.compile(r'(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:(?P<v>[^@\s/]+)@'),
    # Personal access tokens (appliance.services.tokens.PREFIX) wherever they appear.
    re.compile(r'\benc_(?P<v>[A-Za-z0-9_-]{16,})'),
)


def mask_secrets(text: str, replace: Callable[[str], str] | None = None) -> str:
    """`text` with obvious secrets replaced: values of password/token/secret keys, auth headers, URL credentials.

    Each secret becomes *** unless `replace` says otherwise (the support bundle numbers them).
    """

    def substitute(match: re.Match[str]) -> str:
        whole, start = match.group(0), match.start()
        value = match.group('v')
        hidden = MASK if replace is None or value.strip('"\'') == MASK else replace(value)
        return whole[: match.start('v') - start] + hidden + whole[match.end('v') - start :]

    for pattern in SECRET_PATTERNS:
        text = pattern.sub(substitute, text)
    return text


def log_dir(data_dir: Path) -> Path:
    """The folder of the app's log files."""
    return data_dir / 'logs'


def log_file(data_dir: Path) -> Path:
    """The current log file (rotated ones are beside it as enclave.log.1 ... .5, .1 the newest)."""
    return log_dir(data_dir) / LOG_NAME


def iso_time(timestamp: float) -> str:
    """A record's time as written in the log: ISO 8601 in UTC with milliseconds."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec='milliseconds')


class JsonFormatter(logging.Formatter):
    """One JSON object per line, secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (without the newline)."""
        entry: dict[str, Any] = {
            'time': iso_time(record.created),
            'level': record.levelname,
            'logger': record.name,
            'message': mask_secrets(record.getMessage()),
        }
        exc = ''
        if record.exc_info:
            exc = self.formatException(record.exc_info)
        elif record.exc_text:
            exc = record.exc_text
        if record.stack_info:
            exc = f'{exc}\n{self.formatStack(record.stack_info)}'.strip()
        if exc:
            entry['exc'] = mask_secrets(exc)
        return json.dumps(entry, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    """A plain text formatter that masks secrets (for stderr, which ends up in the journal)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, secrets masked."""
        return mask_secrets(super().format(record))


class _OwnHandler:
    """Marks the handlers `configure` adds, so that a second call replaces them instead of adding more."""

    enclave_log = True


class LogFileHandler(_OwnHandler, RotatingFileHandler):
    """A size-rotated file whose every generation is created 0640.

    A file that cannot be written (a full disk, a folder gone) never raises into the caller and never prints a
    traceback per record: the first failure is said once on stderr, records are dropped while it lasts, and the first
    record written afterwards is preceded by a line saying how many were dropped.
    """

    dropped = 0

    def _open(self) -> io.TextIOWrapper:
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.chmod(self.baseFilename, FILE_MODE)  # the umask may have taken the group bit away
        return os.fdopen(descriptor, 'a', encoding=self.encoding or 'utf-8', errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record; on an OSError drop it (see the class)."""
        try:
            if self.dropped:
                self._write_line(
                    logging.makeLogRecord(
                        {
                            'name': 'enclave.logs',
                            'levelno': logging.WARNING,
                            'levelname': 'WARNING',
                            'msg': f'{self.dropped} log records were dropped while the log file could not be written',
                        }
                    )
                )
                self.dropped = 0
            self._write_line(record)
        except OSError as error:
            self._drop(error)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - a record that cannot be formatted: the standard report, never a raise
            self.handleError(record)

    def _write_line(self, record: logging.LogRecord) -> None:
        if self.stream is not None and self._rotated_elsewhere():
            self.stream.close()
            self.stream = None
        if self.shouldRollover(record):
            self._rotate_once()
        if self.stream is None:
            self.stream = self._open()
        data = (self.format(record) + self.terminator).encode(self.stream.encoding, self.stream.errors or 'strict')
        # Straight to the descriptor (the text buffer stays empty), so a failed write can be cut back to where the
        # line began: a full disk may take half a line, and the next line must not be glued to it.
        descriptor = self.stream.fileno()
        start = os.fstat(descriptor).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
        except OSError:
            try:
                os.ftruncate(descriptor, start)
            except OSError:
                pass
            raise

    def _rotated_elsewhere(self) -> bool:
        """Whether another process (a worker beside this one) rotated the file: ours is no longer at its path."""
        assert self.stream is not None
        try:
            return os.stat(self.baseFilename).st_ino != os.fstat(self.stream.fileno()).st_ino
        except FileNotFoundError:
            return True

    def _rotate_once(self) -> None:
        """Rotate, unless another process did it meanwhile: workers share the file, one rotates it per turn."""
        # The lock is the log folder itself (an flock on its descriptor): no extra file beside the logs.
        folder = os.open(os.path.dirname(self.baseFilename), os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            try:
                size = os.stat(self.baseFilename).st_size
            except FileNotFoundError:
                size = 0
            # Still the full file (not the fresh one another worker just rotated to): this process rotates it.
            if size >= self.maxBytes // 2:
                self.doRollover()
            elif self.stream is not None:
                self.stream.close()
                self.stream = None
        finally:
            os.close(folder)  # and with it the lock

    def _drop(self, error: OSError) -> None:
        if not self.dropped:
            try:
                sys.stderr.write(
                    f'enclave: cannot write the log file {self.baseFilename}: {error.strerror or error}; log records '
                    'are dropped until it can be written again (free space on the data volume).\n'
                )
            except Exception:  # noqa: BLE001, S110 - stderr itself is gone: nothing left to tell
                pass
        self.dropped += 1
        # Open the file again for the next record (it may have been removed or replaced meanwhile).
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


class StderrHandler(_OwnHandler, logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (it is replaced under test runners and daemons)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        """The current sys.stderr."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass  # always the current sys.stderr


def _level(name: str) -> int:
    level = logging.getLevelNamesMapping().get(name.strip().upper())
    return level if level is not None else logging.INFO


def _replace_handlers(logger: logging.Logger, handlers: list[logging.Handler]) -> None:
    for old in [handler for handler in logger.handlers if getattr(handler, 'enclave_log', False)]:
        logger.removeHandler(old)
        if old not in handlers:
            old.close()
    for handler in handlers:
        logger.addHandler(handler)


def attach_uvicorn(file_handler: logging.Handler) -> None:
    """Send uvicorn's error log to the file too (uvicorn's own logging set-up drops foreign handlers: call again)."""
    _replace_handlers(logging.getLogger(UVICORN_LOGGER), [file_handler])


def configure(settings: Settings) -> LogFileHandler:
    """Write the app's log to `<data_dir>/logs/enclave.log` (JSON lines, rotated) and stderr, at settings.log_level.

    Idempotent: a second call replaces the handlers of the first (a new data dir is followed, nothing doubles).
    """
    folder = log_dir(settings.data_dir)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(folder, DIR_MODE)
    file_handler = LogFileHandler(log_file(settings.data_dir), maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT)
    file_handler.setFormatter(JsonFormatter())
    stderr_handler = StderrHandler()
    stderr_handler.setFormatter(MaskingFormatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    for name in APP_LOGGERS:
        _replace_handlers(logging.getLogger(name), [file_handler, stderr_handler])
    logging.getLogger('enclave').setLevel(_level(settings.log_level))
    attach_uvicorn(file_handler)
    # uvicorn configures its loggers when the server is created (after this), removing the handler above; put it
    # back once the server starts.
    from nicegui import app

    if app.is_started:  # e.g. a test that builds the app again inside a running one
        attach_uvicorn(file_handler)
    else:
        app.on_startup(lambda: attach_uvicorn(file_handler))
    return file_handler
