"""The loader finds a module's hooks by their fixed file names, and freeze() checks typed extension points.

Each test writes a throwaway package into a temporary folder on sys.path, so the files are real files found the
way a real module's are.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from appliance.extensions import SEAT_GUARD, Contribution, ExtensionPoint, Status
from appliance.modules import ModuleError, ModuleSpec, Registry, load_modules


@dataclass(frozen=True)
class Tab:
    key: str


TABS = ExtensionPoint('offerer.tabs', Tab, owner='offerer')


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A fresh top-level package (unique name) in tmp_path; yields (its name, its folder)."""
    name = f'throwaway_{uuid.uuid4().hex[:8]}'
    root = tmp_path / name
    root.mkdir()
    (root / '__init__.py').write_text('')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, root
    for loaded in [key for key in sys.modules if key == name or key.startswith(f'{name}.')]:
        del sys.modules[loaded]


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


SPEC = """
from appliance.modules import ModuleSpec, Permission
MODULE = ModuleSpec(name='demo', label='Demo', permissions=(Permission('demo.use', 'Use it'),){extra})
"""

HOOKS = {
    'search.py': """
        def search(*, session, actor, query, limit):
            return [f'demo:{query}']
    """,
    'backup.py': """
        from appliance.modules import BackupHooks
        BACKUP = BackupHooks(tables=('demo_things',), blob_owners=('demo.file',))
    """,
    'jobs.py': """
        from appliance.modules import ScheduledJob
        JOBS = (ScheduledJob(id='demo.tick', func=lambda: None, trigger='interval', trigger_args={'seconds': 60}),)
    """,
    'health.py': """
        from appliance.extensions import Status
        from appliance.modules import HealthCheck
        CHECKS = (HealthCheck('demo_ok', lambda: (Status.GREEN, 'fine')),)
    """,
    'pages/__init__.py': """
        CALLS = []
        def register():
            CALLS.append('pages')
    """,
    'api/__init__.py': """
        from fastapi import APIRouter
        def router():
            api = APIRouter()
            @api.get('/demo/ping')
            def ping() -> dict[str, str]:
                return {'pong': 'yes'}
            return api
    """,
    'cli.py': """
        import typer
        def register(app: typer.Typer) -> None:
            @app.command('demo-hello')
            def hello() -> None:
                print('hello')
    """,
}


def load(name: str) -> ModuleSpec:
    registry = Registry()
    load_modules(registry, ['demo'], package=name)
    spec = registry.get('demo')
    assert spec is not None
    return spec


def test_it_finds_every_hook_by_its_file_name(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, {'demo/__init__.py': SPEC.format(extra=''), **{f'demo/{path}': text for path, text in HOOKS.items()}})
    spec = load(name)
    assert spec.search is not None and spec.search(session=None, actor=None, query='x', limit=5) == ['demo:x']  # type: ignore[arg-type, comparison-overlap]
    assert spec.backup_hooks is not None and spec.backup_hooks.tables == ('demo_things',)
    assert [job.id for job in spec.jobs] == ['demo.tick']
    assert [(check.name, check.run()) for check in spec.health_checks] == [('demo_ok', (Status.GREEN, 'fine'))]
    assert spec.api_router is not None
    assert [getattr(route, 'path', None) for route in spec.api_router().routes] == ['/demo/ping']
    app = typer.Typer()
    assert spec.cli is not None
    spec.cli(app)
    assert [command.name for command in app.registered_commands] == ['demo-hello']


def test_pages_api_and_cli_are_imported_only_when_used(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, {'demo/__init__.py': SPEC.format(extra=''), **{f'demo/{path}': text for path, text in HOOKS.items()}})
    spec = load(name)
    assert f'{name}.demo.pages' not in sys.modules and f'{name}.demo.api' not in sys.modules
    assert f'{name}.demo.cli' not in sys.modules
    assert spec.register_pages is not None
    spec.register_pages()
    assert sys.modules[f'{name}.demo.pages'].CALLS == ['pages']


def test_a_module_without_hook_files_has_none(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, {'demo/__init__.py': SPEC.format(extra=''), 'demo/models.py': ''})
    spec = load(name)
    assert (spec.search, spec.backup_hooks, spec.jobs, spec.health_checks, spec.register_pages) == (
        None,
        None,
        (),
        (),
        None,
    )


def test_it_refuses_a_hook_set_in_the_spec_and_in_its_file(package: tuple[str, Path]) -> None:
    name, root = package
    both = SPEC.format(extra=', search=lambda **kw: []')
    write(root, {'demo/__init__.py': both, 'demo/search.py': HOOKS['search.py']})
    with pytest.raises(ModuleError, match=r'sets search in its ModuleSpec and also has .*demo/search.py'):
        load(name)


def test_it_says_which_name_a_hook_file_must_define(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, {'demo/__init__.py': SPEC.format(extra=''), 'demo/backup.py': 'HOOKS = None\n'})
    with pytest.raises(ModuleError, match=r'demo/backup.py must define BACKUP'):
        load(name)


def test_parts_hooks_are_merged_in_order(package: tuple[str, Path]) -> None:
    name, root = package
    backup = """
        from appliance.modules import BackupHooks
        DONE = []
        BACKUP = BackupHooks(tables=({table!r},), after_restore=lambda *, session: DONE.append({table!r}))
    """
    write(
        root,
        {
            'demo/__init__.py': SPEC.format(extra=", parts=('one', 'two')"),
            'demo/one/__init__.py': '',
            'demo/one/backup.py': backup.format(table='one_t'),
            'demo/one/health.py': HOOKS['health.py'],
            'demo/two/__init__.py': '',
            'demo/two/backup.py': backup.format(table='two_t'),
            'demo/two/health.py': HOOKS['health.py'].replace('demo_ok', 'demo_two'),
        },
    )
    spec = load(name)
    assert spec.backup_hooks is not None and spec.backup_hooks.tables == ('one_t', 'two_t')
    assert [check.name for check in spec.health_checks] == ['demo_ok', 'demo_two']
    assert spec.backup_hooks.after_restore is not None
    spec.backup_hooks.after_restore(session=None)
    assert sys.modules[f'{name}.demo.one.backup'].DONE == ['one_t']
    assert sys.modules[f'{name}.demo.two.backup'].DONE == ['two_t']


def user(*contributions: Contribution[Any], requires: tuple[str, ...] = ('offerer',)) -> ModuleSpec:
    return ModuleSpec(name='user', label='User', requires=requires, contributes=contributions)


def offerer(**extra: object) -> ModuleSpec:
    return ModuleSpec(name='offerer', label='Offerer', offers=(TABS,), **extra)  # type: ignore[arg-type]


def test_typed_contributions_are_read_back_typed() -> None:
    registry = Registry()
    registry.register(offerer(contributes=(TABS.contribute(Tab('own')),)))
    registry.register(
        ModuleSpec(name='user', label='U', requires=('offerer',), contributes=(TABS.contribute(Tab('b')),))
    )
    registry.freeze()
    assert registry.contributions(TABS) == [Tab('own'), Tab('b')]


def test_freeze_refuses_a_contribution_to_a_point_no_loaded_module_offers() -> None:
    registry = Registry()
    registry.register(ModuleSpec(name='offerer', label='Offerer'))  # loaded, but does not list the point
    registry.register(
        ModuleSpec(name='user', label='U', requires=('offerer',), contributes=(TABS.contribute(Tab('b')),))
    )
    with pytest.raises(ModuleError, match=r'contributes to "offerer.tabs", which no loaded module offers'):
        registry.freeze()
    assert not registry.frozen


def test_freeze_refuses_a_contribution_from_a_module_not_requiring_the_offerer() -> None:
    registry = Registry()
    registry.register(offerer())
    registry.register(user(TABS.contribute(Tab('b')), requires=()))
    with pytest.raises(ModuleError, match=r'without requiring it: add "offerer" to its requires'):
        registry.freeze()


def test_freeze_refuses_an_item_of_the_wrong_type() -> None:
    registry = Registry()
    registry.register(offerer())
    wrong = TABS.contribute('board')  # type: ignore[arg-type]
    registry.register(user(wrong))
    with pytest.raises(ModuleError, match=r"contributes 'board' to \"offerer.tabs\", which takes Tab items"):
        registry.freeze()


def test_core_points_take_functions_from_any_module() -> None:
    def guard(*, session: object, adding: int) -> None:
        return None

    registry = Registry()
    registry.register(ModuleSpec(name='core', label='Core', offers=(SEAT_GUARD,)))
    registry.register(ModuleSpec(name='lic', label='L', contributes=(SEAT_GUARD.contribute(guard),)))
    registry.freeze()
    assert registry.contributions(SEAT_GUARD) == [guard]
    refused = Registry()
    refused.register(ModuleSpec(name='core', label='Core', offers=(SEAT_GUARD,)))
    refused.register(ModuleSpec(name='lic', label='L', contributes=(SEAT_GUARD.contribute('not a function'),)))  # type: ignore[arg-type]
    with pytest.raises(ModuleError, match='which takes function items'):
        refused.freeze()


def test_a_point_must_be_named_after_its_owner() -> None:
    with pytest.raises(ValueError, match=r'must be named "offerer.<point>"'):
        ExtensionPoint('tabs', Tab, owner='offerer')
