"""What a module written by scripts/new_module.py does once enabled (run by tests/tooling/test_new_module.py).

Not collected on its own: test_new_module.py runs it in a subprocess with the module's folder joined to `modules`
(tests/support/extra_modules.py) and its name in ENCLAVE_TEST_NEW_MODULE, together with the contract test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest

from appliance.extensions import Status
from appliance.modules import current_registry, load_modules, register_builtins, reset_registry
from tests.appliance.support import (  # noqa: F401 - fixtures
    Keys,
    TestClient,
    built_app,
    fast_hashing,
    keys_fixture,
    sign_in_url,
)
from tests.conftest import People

NAME = os.environ['ENCLAVE_TEST_NEW_MODULE']
ENABLED = ['projects', 'tasks', NAME]

# The tests the template wrote for the module run here too, under this folder's fixtures (people, data_dir).
globals().update(
    {
        key: value
        for key, value in vars(import_module(f'tests.modules.{NAME}.test_services')).items()
        if key.startswith('test_')
    }
)


def note(title: str, *readers: int) -> dict[str, object]:
    return {'title': title, 'readers': list(readers)}


@pytest.fixture(scope='module')
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app with the new module enabled by its one line of configuration."""
    with built_app(request, tmp_path_factory.mktemp('app'), ENCLAVE_ENABLED_MODULES=json.dumps(ENABLED)) as built:
        yield built


@pytest.fixture(autouse=True)
def registry(client: TestClient, data_dir: Path) -> None:
    """Each test's registry holds the module, as the app's does (the data_dir fixture starts with the built-ins)."""
    fresh = reset_registry()
    register_builtins(fresh)
    load_modules(fresh, ENABLED)
    fresh.freeze()


def test_its_tables_were_made_by_its_own_migration(client: TestClient, data_dir: Path) -> None:
    from sqlalchemy import inspect

    from appliance.db import get_database

    assert f'{NAME}_notes' in inspect(get_database().engine).get_table_names()


def test_a_member_writes_and_shares_a_note_through_the_api(client: TestClient, keys: Keys, people: People) -> None:
    made = client.post(
        f'/api/v1/{NAME}/notes', json={'title': 'First note', 'readers': [people.alice.id]}, headers=keys.bob
    )
    assert made.status_code == 201, made.text
    note = made.json()
    assert client.get(f'/api/v1/{NAME}/notes/{note["id"]}', headers=keys.alice).json()['title'] == 'First note'
    assert [n['title'] for n in client.get(f'/api/v1/{NAME}/notes', headers=keys.alice).json()] == ['First note']
    assert client.get(f'/api/v1/{NAME}/notes/{note["id"]}', headers=keys.charlie).status_code == 404
    assert client.get(f'/api/v1/{NAME}/notes', headers=keys.charlie).json() == []
    refused = client.post(f'/api/v1/{NAME}/notes', json={'title': ''}, headers=keys.bob)
    assert refused.status_code == 422
    assert client.get(f'/api/v1/{NAME}/notes/999999', headers=keys.bob).status_code == 404


def test_its_page_shows_the_notes_shared_with_the_reader(client: TestClient, keys: Keys, people: People) -> None:
    client.post(
        f'/api/v1/{NAME}/notes', json={'title': 'Visible on the page', 'readers': [people.bob.id]}, headers=keys.alice
    )
    client.get(sign_in_url('bob'), follow_redirects=False)
    page = client.get(f'/{NAME}', follow_redirects=False)
    assert page.status_code == 200
    assert 'Visible on the page' in page.text


def test_global_search_finds_a_note_only_for_its_readers(client: TestClient, keys: Keys, people: People) -> None:
    client.post(
        f'/api/v1/{NAME}/notes', json={'title': 'Quarterly plan', 'readers': [people.bob.id]}, headers=keys.alice
    )
    hits = client.get('/api/v1/search', params={'q': 'quarterly'}, headers=keys.bob).json()['items']
    assert any(hit['module'] == NAME and hit['title'] == 'Quarterly plan' for hit in hits), hits
    hidden = client.get('/api/v1/search', params={'q': 'quarterly'}, headers=keys.charlie).json()['items']
    assert not [hit for hit in hidden if hit['module'] == NAME]


def test_its_hooks_are_found_by_the_loader(client: TestClient) -> None:
    spec = current_registry().get(NAME)
    assert spec is not None
    assert spec.backup_hooks is not None
    assert spec.backup_hooks.tables == (f'{NAME}_notes', f'{NAME}_note_readers')
    assert [check.name for check in spec.health_checks] == ['notes']
    status, message = spec.health_checks[0].run()
    assert status is Status.GREEN and message
    assert f'{NAME}.use' in current_registry().permission_names()
