"""The contract every module signs, checked for the core and each installed module (NetBox-style).

Each module's permissions are named `<module>.<verb>` and described; its nav items need known permissions. Every
route under /api/v1 and every registered page, with each method, is asked for by no one (sent to sign in, or told
to authenticate), by charlie (a member without access: refused on alice's objects, never shown them) and by bob (a
member with access: let in), and never answers 500. Path parameters are filled with the sample objects each
module's tests provide (tests/support/contract.py); the public routes are an explicit list there. A new module's
routes are covered as soon as it is installed; the test says which sample to add when a parameter has none.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from appliance.modules import (
    PERMISSION_RE,
    ModuleSpec,
    Registry,
    builtin_specs,
    current_registry,
    load_modules,
    register_builtins,
    reset_registry,
    with_hooks,
)
from tests.appliance.support import (  # noqa: F401 - fixtures
    TestClient,
    bearer,
    built_app,
    fast_hashing,
    sign_in_url,
)
from tests.conftest import People, make_token, make_user
from tests.support import contract
from tests.support.contract import contract_app


def installed_modules() -> list[ModuleSpec]:
    """The core and the console, then every module under `modules/`, each after the modules it requires."""
    try:
        package = importlib.import_module('modules')
    except ModuleNotFoundError:
        return builtin_specs()
    found: list[ModuleSpec] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        spec = getattr(importlib.import_module(f'modules.{info.name}'), 'MODULE', None)
        if isinstance(spec, ModuleSpec):
            found.append(with_hooks(spec, f'modules.{info.name}'))  # hooks live in fixed-name files
    ordered = builtin_specs()
    while found:
        ready = [spec for spec in found if set(spec.requires) <= {done.name for done in ordered}]
        assert ready, f'modules with unmet requirements: {[spec.name for spec in found]}'
        ordered.extend(ready)
        found = [spec for spec in found if spec not in ready]
    return ordered


MODULES = installed_modules()
ENABLED = [spec.name for spec in MODULES if spec not in builtin_specs()]
PROTECTED = [(spec.name, path) for spec in MODULES for path in spec.protected_paths]


def is_api(path: str) -> bool:
    return path.startswith('/api/')


@pytest.fixture(scope='module')
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Registry]]:
    """The app built with every installed module enabled, and the registry it built."""
    with built_app(request, tmp_path_factory.mktemp('app'), ENCLAVE_ENABLED_MODULES=json.dumps(ENABLED)) as client:
        yield client, current_registry()


@pytest.fixture
def client(app: tuple[TestClient, Registry], data_dir: object) -> TestClient:
    """A cookie-less client; the registry of this test holds every module, as the app's does."""
    registry = reset_registry()
    register_builtins(registry)
    load_modules(registry, ENABLED)
    registry.freeze()
    app[0].cookies.clear()
    return app[0]


@pytest.fixture
def built(app: tuple[TestClient, Registry]) -> Registry:
    return app[1]


@pytest.mark.parametrize('name', [spec.name for spec in MODULES])
def test_it_registers_the_module_when_the_app_is_built(built: Registry, name: str) -> None:
    assert built.frozen
    assert built.get(name) is not None


@pytest.mark.parametrize('spec', MODULES, ids=[spec.name for spec in MODULES])
def test_it_names_every_permission_module_dot_verb_and_describes_it(built: Registry, spec: ModuleSpec) -> None:
    for permission in built.get(spec.name).permissions:  # type: ignore[union-attr]
        assert PERMISSION_RE.match(permission.name), permission.name
        assert permission.name.split('.')[0] == spec.name
        assert permission.description.strip(), f'{permission.name} has no description'
        assert permission.roles, f'{permission.name} is held by no role'


@pytest.mark.parametrize('spec', MODULES, ids=[spec.name for spec in MODULES])
def test_it_guards_every_nav_item_with_a_known_permission(built: Registry, spec: ModuleSpec) -> None:
    for item in built.get(spec.name).nav:  # type: ignore[union-attr]
        assert item.permission in built.permission_names(), f'{item.path} needs {item.permission}'
        assert item.path.startswith('/') and item.label.strip()


@pytest.mark.parametrize('spec', MODULES, ids=[spec.name for spec in MODULES])
def test_it_lists_every_nav_page_among_its_protected_paths(spec: ModuleSpec) -> None:
    # Every nav item needs a permission and charlie holds none, so each nav page must be tested against him.
    assert {item.path for item in spec.nav} <= set(spec.protected_paths)


def _routes() -> list[contract.Case]:
    """Every route and page of the app built with every installed module (built once, at collection)."""
    with contract_app(ENABLED) as (routes, pages):
        return contract.cases(routes, pages)


ALL_CASES = _routes()
CASES = [case for case in ALL_CASES if not contract.is_public(case)]


def test_it_finds_every_module_route_and_page() -> None:
    paths = {case.path for case in ALL_CASES}
    assert {path for spec in MODULES for path in spec.protected_paths} <= paths
    assert sum(not case.is_page for case in CASES) >= 60 and sum(case.is_page for case in CASES) >= 25


@pytest.mark.parametrize('path', sorted(contract.PUBLIC))
def test_every_public_route_exists(path: str) -> None:
    assert path in {case.path for case in ALL_CASES}, f'{path} is listed as public but no route has it: drop it'


def _data_of(response: httpx.Response) -> str:
    return response.text if response.status_code < 300 else ''


def _check_anonymous(case: contract.Case, response: httpx.Response) -> None:
    said = f'{case.id} as no one: {response.status_code} {response.text[:300]}'
    if case.is_page:
        assert response.status_code in {303, 307} and response.headers['location'].startswith('/login'), said
    else:
        assert response.status_code in {401, 403}, said
    assert contract.SECRET not in response.text, said


def _check_charlie(case: contract.Case, response: httpx.Response) -> None:
    said = f'{case.id} as charlie (a member without access): {response.status_code} {response.text[:300]}'
    assert response.status_code < 500, said
    assert contract.SECRET not in response.text, said
    if case.member_read:
        assert 200 <= response.status_code < 300, said
    elif case.params or case.admin_only or case.hr_only:
        assert response.status_code in {403, 404}, said


def _check_bob(case: contract.Case, response: httpx.Response) -> None:
    said = f'{case.id} as bob (a member with access): {response.status_code} {response.text[:300]}'
    assert response.status_code < 500, said
    key = (case.method, case.path)
    if (case.admin_only and key not in contract.BOB_ALLOWED) or key in contract.BOB_REFUSED or case.hr_only:
        assert response.status_code in {403, 404}, said
    elif case.method == 'GET':
        # Reading alice's objects, bob is shown them: a 404 here would mean the samples prove nothing.
        assert 200 <= response.status_code < 300, said
    else:
        assert response.status_code not in {401, 403}, said


@pytest.mark.parametrize('case', CASES, ids=[case.id for case in CASES])
def test_it_keeps_alices_objects_from_those_without_access(
    client: TestClient, people: People, case: contract.Case
) -> None:
    values = contract.make_samples(people, ENABLED)
    missing = case.missing(values)
    assert not missing, contract.missing_sample_message(case, missing, ENABLED)
    url, body = case.url(values), case.body(values)
    query = case.query(values)

    def ask(who: str | None) -> httpx.Response:
        client.cookies.clear()
        headers = {}
        if who and case.is_page:
            client.get(sign_in_url(who), follow_redirects=False)
        elif who:
            headers = bearer(make_token(getattr(people, who), name=f'contract-{who}'))
        return client.request(case.method, url, params=query, json=body, headers=headers, follow_redirects=False)

    _check_anonymous(case, ask(None))
    _check_charlie(case, ask('charlie'))
    if case.admin_only:
        alice = ask('alice')
        assert alice.status_code not in {401, 403} and alice.status_code < 500, f'{case.id} as alice: {alice.text}'
    if case.hr_only:
        hr = ask_hr(client, case, url, body, query)
        assert hr.status_code not in {401, 403} and hr.status_code < 500, f'{case.id} as HR: {hr.text}'
    _check_bob(case, ask('bob'))


def ask_hr(client: TestClient, case: contract.Case, url: str, body: Any, query: Any) -> httpx.Response:
    """The request as a member who holds the HR role."""
    hr = make_user(username='contract.hr2', roles=['member', 'hr'])
    client.cookies.clear()
    if case.is_page:
        client.get(sign_in_url('contract.hr2'), follow_redirects=False)
        return client.request(case.method, url, params=query, json=body, follow_redirects=False)
    headers = bearer(make_token(hr, name='contract-hr'))
    return client.request(case.method, url, params=query, json=body, headers=headers, follow_redirects=False)


def test_it_gives_every_table_to_exactly_one_modules_backup_hooks() -> None:
    """The console backs up what the hooks declare: a table nobody declares would be missed by its manifest."""
    from appliance.db import Base
    from appliance.migrate import import_all_models

    import_all_models()
    declared: dict[str, str] = {}
    for spec in MODULES:
        assert spec.backup_hooks is not None, f'module {spec.name} declares no backup hooks'
        for table in spec.backup_hooks.tables:
            assert table not in declared, f'{table} is declared by {declared[table]} and {spec.name}'
            assert table.startswith(f'{spec.name}_'), f'{spec.name} declares {table}, which is not its own'
            declared[table] = spec.name
    assert set(declared) == set(Base.metadata.tables)


@pytest.mark.parametrize('spec', MODULES, ids=[spec.name for spec in MODULES])
def test_it_names_its_blob_owners_after_itself(spec: ModuleSpec) -> None:
    hooks = spec.backup_hooks
    assert hooks is not None
    assert all(owner.startswith(f'{spec.name}.') for owner in hooks.blob_owners)
