"""Who the client is behind a proxy (appliance.web.proxy): forwarded headers count only from the proxy, and only
the entry the proxy wrote (the rightmost). The appliance's real nginx in front of the real app:
tests/provisioning/test_nginx_proxy.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from appliance.config import Settings
from appliance.web.proxy import TrustedProxyMiddleware


def seen(scope: dict[str, Any], *, socket: bool = False, trusted: tuple[str, ...] = ('127.0.0.1', '::1')) -> Any:
    """The (client, scheme) the app below the middleware sees for this request."""
    got: dict[str, Any] = {}

    async def app(inner: Any, receive: Any, send: Any) -> None:
        got.update(client=inner.get('client'), scheme=inner.get('scheme'))

    middleware = TrustedProxyMiddleware(app, socket=socket, trusted=trusted)
    asyncio.run(middleware({'type': 'http', 'scheme': 'http', **scope}, None, None))  # type: ignore[arg-type]
    return got['client'], got['scheme']


def headers(forwarded_for: str, proto: str = 'https') -> list[tuple[bytes, bytes]]:
    return [(b'x-forwarded-for', forwarded_for.encode()), (b'x-forwarded-proto', proto.encode())]


def test_it_takes_the_address_the_proxy_wrote_not_the_one_the_client_wrote() -> None:
    scope = {'client': ('127.0.0.1', 5000), 'headers': headers('203.0.113.9, 198.51.100.4')}
    assert seen(scope) == (('198.51.100.4', 0), 'https')


def test_it_believes_the_socket_only_when_it_listens_on_one() -> None:
    scope = {'client': None, 'headers': headers('198.51.100.4')}
    assert seen(scope, socket=True) == (('198.51.100.4', 0), 'https')
    assert seen(scope, socket=False) == (None, 'http')


def test_it_ignores_forwarded_headers_from_an_address_that_is_not_a_proxy() -> None:
    scope = {'client': ('192.0.2.50', 5000), 'headers': headers('203.0.113.9')}
    assert seen(scope) == (('192.0.2.50', 5000), 'http')
    assert seen(scope, trusted=('192.0.2.0/24',)) == (('203.0.113.9', 0), 'https')


def test_it_keeps_the_peer_when_the_proxy_wrote_no_usable_address() -> None:
    for value in ('', 'unknown', '203.0.113.9, not-an-ip'):
        assert seen({'client': ('127.0.0.1', 5000), 'headers': headers(value, 'gopher')}) == (
            ('127.0.0.1', 5000),
            'http',
        )
    assert seen({'client': ('127.0.0.1', 1), 'headers': headers('[2001:db8::1]:443')})[0] == ('2001:db8::1', 0)


def test_it_refuses_a_trusted_proxy_setting_that_is_not_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ENCLAVE_TRUSTED_PROXIES', '["10.0.0.5", "proxy.example"]')
    with pytest.raises(ValidationError, match=r'"proxy\.example" is not an IP address or network'):
        Settings()
    monkeypatch.setenv('ENCLAVE_TRUSTED_PROXIES', '["10.0.0.5", "fd00::/8"]')
    assert Settings().trusted_proxies == ['10.0.0.5', 'fd00::/8']


def test_by_default_it_believes_no_forwarded_header_on_tcp_not_even_from_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without a proxy every client of 127.0.0.1:8080 is a loopback client: trusting loopback would let each write
    # the address that sign-in throttling and the audit log see.
    monkeypatch.delenv('ENCLAVE_TRUSTED_PROXIES', raising=False)
    trusted = tuple(Settings().trusted_proxies)
    assert trusted == ()
    scope = {'client': ('127.0.0.1', 5000), 'headers': headers('6.6.6.6')}
    assert seen(scope, trusted=trusted) == (('127.0.0.1', 5000), 'http')
