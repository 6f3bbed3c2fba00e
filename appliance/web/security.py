"""Security headers on every response, and the client IP for the audit log."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance import context

# NiceGUI compiles Vue templates in the browser and injects inline scripts and styles, so 'unsafe-inline'
# and 'unsafe-eval' are the strictest script policy it allows. Everything is same-origin: no other host.
CSP = '; '.join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = [
    (b'content-security-policy', CSP.encode()),
    (b'x-content-type-options', b'nosniff'),
    (b'x-frame-options', b'DENY'),
    (b'referrer-policy', b'same-origin'),
    (b'permissions-policy', b'camera=(), microphone=(), geolocation=(), payment=()'),
    (b'cross-origin-opener-policy', b'same-origin'),
]


class SecurityMiddleware:
    """Adds the headers above to every HTTP response and records the client IP for services."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.extra = [(b'strict-transport-security', b'max-age=31536000')] if https else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        client = scope.get('client')
        token = context.client_ip.set(client[0] if client else '')

        async def send_with_headers(message: Message) -> None:
            if message['type'] == 'http.response.start':
                names = {name.lower() for name, _value in message.get('headers', [])}
                headers = list(message.get('headers', []))
                headers.extend(item for item in HEADERS + self.extra if item[0] not in names)
                message['headers'] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            context.client_ip.reset(token)


def safe_next(target: str | None) -> str:
    """A redirect target limited to local paths: '//evil', 'https://evil', '/\\evil' all become '/'."""
    if not target or not target.startswith('/') or target.startswith('//') or '\\' in target:
        return '/'
    if any(ord(char) < 32 for char in target):
        return '/'
    return target
