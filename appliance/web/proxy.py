"""The client's address behind a reverse proxy, believed only from the proxy.

uvicorn's own proxy handling is turned off (`run_kwargs`): with `forwarded_allow_ips='*'` it took the leftmost
X-Forwarded-For entry, which the client writes itself, so anyone could pick the IP that sign-in throttling, the
audit log and the sign-in ticket's IP binding see. Here the forwarded headers count only when the connection comes
from the proxy: through the Unix socket (`socket`: only the local nginx connects there) or, on TCP, from one of the
`trusted_proxies` addresses (default: none; on TCP without a proxy every client, a local one too, could otherwise
write its own address). Of X-Forwarded-For only the rightmost entry is taken: the address the proxy itself saw (the
appliance's nginx writes exactly that, `$remote_addr`); entries to its left were written by the client or by proxies
nobody vouches for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from appliance.db import serving

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    """Parse addresses and networks (`127.0.0.1`, `10.0.0.0/8`, `::1`); raises ValueError naming a bad entry."""
    parsed = []
    for entry in entries:
        try:
            parsed.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as error:
            raise ValueError(f'"{entry}" is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8)') from error
    return parsed


def rightmost_address(values: list[bytes]) -> str | None:
    """The last X-Forwarded-For entry across all such headers, if it is an IP address."""
    entries = [entry.strip() for value in values for entry in value.decode('latin-1').split(',')]
    if not entries or not entries[-1]:
        return None
    last = entries[-1]
    if last.startswith('[') and ']' in last:  # [v6]:port
        last = last[1 : last.index(']')]
    elif last.count(':') == 1:  # v4:port
        last = last.split(':', 1)[0]
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


class TrustedProxyMiddleware:
    """Sets the request's client address (and scheme) from the proxy's headers when the peer is the proxy."""

    def __init__(self, app: ASGIApp, *, socket: bool, trusted: Iterable[str]) -> None:
        self.app = app
        self.socket = socket
        self.trusted = networks(trusted)

    def _from_proxy(self, client: tuple[str, int] | None) -> bool:
        if client is None or not client[0]:
            # uvicorn gives no peer address for a Unix socket connection.
            return self.socket
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] in ('http', 'websocket') and self._from_proxy(scope.get('client')):
            forwarded_for: list[bytes] = []
            proto = None
            for name, value in scope['headers']:
                if name == b'x-forwarded-for':
                    forwarded_for.append(value)
                elif name == b'x-forwarded-proto':
                    proto = value.decode('latin-1').strip().lower()
            address = rightmost_address(forwarded_for) if forwarded_for else None
            if address is not None:
                scope['client'] = (address, 0)
            if proto in ('http', 'https'):
                scope['scheme'] = proto.replace('http', 'ws') if scope['type'] == 'websocket' else proto
        if scope['type'] not in ('http', 'websocket'):
            await self.app(scope, receive, send)
            return
        # Everything below serves a client: a database session opened on the loop's thread is a stall. Reset after,
        # for a caller that runs the app in its own task (a test client).
        token = serving.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            serving.reset(token)
