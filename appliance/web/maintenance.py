"""Maintenance mode: while the data is being swapped (a restore, later an upgrade) the app answers every request
with 503 and a page that reloads itself, and the scheduler's jobs skip their turn.

Process-wide and in memory: the operation that swaps the data runs in this process and switches it on and off
around its work (`during`). Static assets keep loading, so the waiting page looks right.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape

from starlette.types import ASGIApp, Receive, Scope, Send

_state: dict[str, str] = {}
_lock = threading.Lock()
PASS_THROUGH = ('/_nicegui/', '/static/', '/favicon')


def active() -> str:
    """The reason maintenance is on (an English sentence), or '' when the app is serving."""
    with _lock:
        return _state.get('reason', '')


@contextmanager
def during(reason: str) -> Iterator[None]:
    """Serve the maintenance page while the body runs."""
    with _lock:
        _state['reason'] = reason
    try:
        yield
    finally:
        with _lock:
            _state.pop('reason', None)


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
