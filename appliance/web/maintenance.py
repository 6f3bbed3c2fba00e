"""Maintenance mode: while the data is being swapped (a restore, later an upgrade) the app answers every request
with 503 and a page that reloads itself, and the scheduler's jobs skip their turn.

Every process serving the data dir sees it: `during` switches it on in this process and writes the flag file
`<data_dir>/maintenance-mode` (the process number, then the reason) that the other workers' middleware and scheduler
read (one failed open() per request while it is off). Static assets keep loading, so the waiting page looks right.
When the supervisor must restart the other workers after the swap, the operation hands the flag over (`keep`): the
supervisor removes it once they have stopped (`appliance.workers`), while the process that swapped the data, which
reopened it, serves on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger('enclave.maintenance')

_state: dict[str, str] = {}
_lock = threading.Lock()
_flag: list[Path] = []  # the data dir's flag file, once `use_data_dir` named it
PASS_THROUGH = ('/_nicegui/', '/static/', '/favicon')
FLAG_NAME = 'maintenance-mode'


def use_data_dir(data_dir: Path) -> None:
    """Share maintenance mode with the other processes serving `data_dir` (each build of the app calls it)."""
    _flag[:] = [data_dir / FLAG_NAME]


def read_flag(path: Path) -> tuple[int, str]:
    """The process that switched maintenance on and its reason, from the flag file; (0, '') when it is off."""
    try:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return 0, ''
    except OSError:
        return 0, 'Maintenance is in progress.'
    owner, _, reason = text.partition('\n')
    return int(owner) if owner.isdigit() else 0, reason.strip() or 'Maintenance is in progress.'


def _read_flag() -> str:
    if not _flag:
        return ''
    owner, reason = read_flag(_flag[0])
    # The process that wrote it knows better (its own state, above): once it has handed the flag over, it has
    # reopened the swapped data and serves while the others are restarted.
    return '' if owner == os.getpid() else reason


def active() -> str:
    """The reason maintenance is on (an English sentence), or '' when the app is serving."""
    with _lock:
        reason = _state.get('reason', '')
    return reason or _read_flag()


def clear_flag(data_dir: Path, *, stale: bool = False) -> None:
    """Remove the flag file: by the supervisor once every worker stopped, or at start (`stale`): a process that
    died in maintenance left it, and nothing is swapping the data now that this start holds the server lock."""
    path = data_dir / FLAG_NAME
    if stale and path.exists():
        log.warning('maintenance mode was left on by a process that stopped during maintenance; it is off now')
    path.unlink(missing_ok=True)


@dataclass
class Mode:
    """What `during` yields: `keep()` leaves the flag file for the supervisor to remove."""

    kept: bool = False

    def keep(self) -> None:
        self.kept = True


@contextmanager
def during(reason: str) -> Iterator[Mode]:
    """Serve the maintenance page, in every process serving the data dir, while the body runs."""
    mode = Mode()
    with _lock:
        _state['reason'] = reason
    if _flag:
        temporary = _flag[0].with_name(f'.{FLAG_NAME}.{os.getpid()}')
        temporary.write_text(f'{os.getpid()}\n{reason}', encoding='utf-8')
        os.replace(temporary, _flag[0])
    try:
        yield mode
    finally:
        with _lock:
            _state.pop('reason', None)
        if _flag and not mode.kept:
            _flag[0].unlink(missing_ok=True)


PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>Enclave: maintenance</title></head><body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Enclave is under maintenance</h1><p>{reason}</p><p>This page reloads itself every 10 seconds.</p>
<h1 lang="zh-CN">Enclave 正在维护</h1><p lang="zh-CN">本页每 10 秒自动刷新。</p></body></html>"""


class MaintenanceMiddleware:
    """503 with the maintenance page for every HTTP request and WebSocket while maintenance is on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reason = active()
        if not reason or scope['type'] not in ('http', 'websocket') or scope['path'].startswith(PASS_THROUGH):
            await self.app(scope, receive, send)
            return
        if scope['type'] == 'websocket':
            await send({'type': 'websocket.close', 'code': 1013})
            return
        body = PAGE.format(reason=escape(reason)).encode()
        headers = [
            (b'content-type', b'text/html; charset=utf-8'),
            (b'retry-after', b'10'),
            (b'cache-control', b'no-store'),
        ]
        await send({'type': 'http.response.start', 'status': 503, 'headers': headers})
        await send({'type': 'http.response.body', 'body': body})
