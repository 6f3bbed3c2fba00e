"""Helpers shared by the platform-core tests: cheap hashing, one app per module, signing in, the API error shape.

Import `fast_hashing` into a test module (or a conftest) to make it autouse there; import `app_client_fixture`,
`api_fixture` and `keys_fixture` to get the `app_client`, `api` and `keys` fixtures.
"""

from __future__ import annotations

import runpy
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nicegui import core
from nicegui.testing.general import nicegui_reset_globals
from nicegui.testing.general_fixtures import get_path_to_main_file
from sqlalchemy import event, func, select

from appliance.config import get_settings
from appliance.db import get_database
from appliance.models import AuditEvent
from appliance.services import auth
from appliance.web.sessions import COOKIE
from tests.conftest import PASSWORD, People, _migrated_template, make_token

with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # Starlette's note that it prefers httpx2; the client works as it is
    from fastapi.testclient import TestClient

from tests.conftest import fast_hashing  # noqa: F401 - re-exported for modules that import it


def count(model: Any, *where: Any) -> int:
    """How many rows of `model` match `where`."""
    with get_database().session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_rows(action: str = '') -> list[AuditEvent]:
    """Audit events in order, optionally only those whose action starts with `action`."""
    with get_database().session() as session:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action.startswith(action))
        return list(session.scalars(stmt))


def login(username: str, password: str = PASSWORD, *, ip: str = '10.0.0.1') -> auth.NewSession:
    """Sign in through the services (password, then ticket) and return the new session."""
    with get_database().session() as session:
        ticket = auth.authenticate(session=session, username=username, password=password, ip=ip)
    with get_database().session() as session:
        return auth.exchange_ticket(session=session, ticket=ticket, ip=ip, user_agent='pytest')


def ticket_for(username: str, password: str = PASSWORD, *, ip: str = '10.0.0.1') -> str:
    """A fresh one-time login ticket."""
    with get_database().session() as session:
        return auth.authenticate(session=session, username=username, password=password, ip=ip)


def sign_in_url(username: str, *, next_path: str = '/') -> str:
    """Where the login page sends the browser after a right password: the ticket exchange that sets the cookie."""
    # No address: the test clients' peers ('testclient', 127.0.0.1) differ, and a ticket bound to none works anywhere.
    return f'/auth/session?ticket={quote(ticket_for(username, ip=""))}&next={quote(next_path)}'


def browser_sign_in(client: httpx.Client, username: str, *, next_path: str = '/') -> httpx.Response:
    """Sign in the way the login page does; the session cookie lands in `client`."""
    response = client.get(sign_in_url(username, next_path=next_path))
    assert response.status_code == 303, response.text
    assert client.cookies.get(COOKIE)
    return response


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a personal access token."""
    return {'Authorization': f'Bearer {token}'}


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert the status and the one error shape {"error": {"code", "message"}}; return the error."""
    assert response.status_code == status, response.text
    assert response.headers['content-type'].startswith('application/json')
    body = response.json()
    assert set(body) == {'error'}
    error = body['error']
    assert isinstance(error['code'], str) and error['code']
    assert isinstance(error['message'], str) and error['message']
    return error  # type: ignore[no-any-return]


# ---- one app per test module --------------------------------------------------------------------------------


@contextmanager
def built_app(request: pytest.FixtureRequest, directory: Path, **env: str) -> Iterator[TestClient]:
    """Build the app exactly as appliance/main.py does, in its own data dir, and serve it to a test client.

    `env` adds ENCLAVE_* variables read at build time (for example ENCLAVE_ENABLED_MODULES).
    """
    main_file = get_path_to_main_file(request)
    assert main_file is not None
    shutil.copy(_migrated_template(), directory / 'enclave.db')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('ENCLAVE_DATA_DIR', str(directory))
        patch.setenv('ENCLAVE_CONFIG', str(directory / 'enclave.toml'))
        patch.setenv('ENCLAVE_SCHEDULER_ENABLED', 'false')
        patch.setenv('NICEGUI_USER_SIMULATION', 'true')
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        with nicegui_reset_globals():
            runpy.run_path(str(main_file), run_name='__main__')
            with TestClient(core.app, base_url='http://test') as client:
                yield client
    get_settings.cache_clear()
    (directory / 'reserve').unlink(missing_ok=True)  # 64 MiB of real blocks: not kept with the test dirs


@pytest.fixture(scope='module', name='app_client')
def app_client_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app as appliance/main.py builds it, built once per module.

    NiceGUI's `user` fixture rebuilds it for every test, which costs ~0.3 s of garbage collection; plain HTTP
    tests do not need that. Every test still gets its own data dir and database (the routes look them up per
    request), but settings read at build time (ENCLAVE_HTTPS) need the `user` fixture. Do not mix the two in
    one module: the `user` fixture tears this app down.
    """
    with built_app(request, tmp_path_factory.mktemp('app')) as client:
        yield client


@pytest.fixture(name='api')
def api_fixture(app_client: TestClient) -> TestClient:
    """An HTTP client on the whole app (pages, API, health) with no cookies from earlier tests."""
    app_client.cookies.clear()
    return app_client


@dataclass
class Keys:
    """Authorization headers with a personal access token of each person."""

    alice: dict[str, str]
    bob: dict[str, str]
    charlie: dict[str, str]


@pytest.fixture(name='keys')
def keys_fixture(people: People) -> Keys:
    """A token for alice, bob and charlie."""
    return Keys(*(bearer(make_token(person)) for person in (people.alice, people.bob, people.charlie)))


@pytest.fixture(name='short_busy_timeout')
def short_busy_timeout_fixture() -> Iterator[None]:
    """Every new connection of the app waits 200 ms for a lock instead of 10 s (the test's only change)."""
    engine = get_database().engine

    def pragma(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute('PRAGMA busy_timeout=200')

    event.listen(engine, 'connect', pragma)
    engine.dispose()
    yield
    event.remove(engine, 'connect', pragma)
    engine.dispose()
