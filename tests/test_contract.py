"""The contract every module signs, checked for the core and each installed module (NetBox-style).

Each module's permissions are named `<module>.<verb>` and described; its nav items need known permissions; the
outsider charlie is refused on every path the module protects, and an anonymous visitor is sent to sign in
(pages) or told to authenticate (API). A new module gets these tests by declaring `protected_paths`.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from urllib.parse import quote

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
    Keys,
    TestClient,
    built_app,
    error_of,
    fast_hashing,
    keys_fixture,
    sign_in_url,
)
from tests.conftest import People


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


@pytest.mark.parametrize(('module', 'path'), PROTECTED, ids=[f'{module}:{path}' for module, path in PROTECTED])
def test_it_refuses_the_outsider(client: TestClient, keys: Keys, module: str, path: str) -> None:
    if is_api(path):
        assert error_of(client.get(path, headers=keys.charlie), 403)['code'] == 'forbidden'
    else:
        client.get(sign_in_url('charlie'), follow_redirects=False)
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 403
        assert 'You do not have permission to open this page.' in response.text


@pytest.mark.parametrize(('module', 'path'), PROTECTED, ids=[f'{module}:{path}' for module, path in PROTECTED])
def test_it_sends_an_anonymous_visitor_to_sign_in(client: TestClient, people: People, module: str, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    if is_api(path):
        assert error_of(response, 401)['code'] == 'unauthenticated'
    else:
        assert response.status_code == 303
        assert response.headers['location'] == f'/login?next={quote(path)}'


@pytest.mark.parametrize(('module', 'path'), PROTECTED, ids=[f'{module}:{path}' for module, path in PROTECTED])
def test_it_lets_an_admin_in(client: TestClient, keys: Keys, module: str, path: str) -> None:
    if is_api(path):
        response = client.get(path, headers=keys.alice)
    else:
        client.get(sign_in_url('alice'), follow_redirects=False)
        response = client.get(path, follow_redirects=False)
    assert response.status_code == 200


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
