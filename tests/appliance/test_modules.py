"""The module registry and loader: order, requirements, names, permissions, navigation, freezing."""

from __future__ import annotations

import pytest

from appliance.core_module import CORE
from appliance.modules import ModuleError, ModuleSpec, NavItem, Permission, Registry, load_modules

SAMPLES = 'tests.appliance.sample_modules'


def spec(name: str, **fields: object) -> ModuleSpec:
    return ModuleSpec(name=name, label=name.title(), **fields)  # type: ignore[arg-type]


def core_registry() -> Registry:
    registry = Registry()
    registry.register(CORE)
    return registry


def test_it_keeps_modules_in_load_order() -> None:
    registry = core_registry()
    load_modules(registry, ['alpha', 'beta'], package=SAMPLES)
    assert [module.name for module in registry.modules()] == ['core', 'alpha', 'beta']
    assert registry.get('beta').requires == ('alpha',)  # type: ignore[union-attr]
    assert registry.get('gamma') is None


def test_it_refuses_a_module_loaded_before_its_requirement() -> None:
    registry = core_registry()
    with pytest.raises(ModuleError, match='"beta" requires alpha: enable it before "beta"'):
        load_modules(registry, ['beta', 'alpha'], package=SAMPLES)
    assert [module.name for module in registry.modules()] == ['core']


def test_it_says_when_an_enabled_module_is_not_installed() -> None:
    with pytest.raises(ModuleError, match='"ghost" is enabled in the configuration but is not installed'):
        load_modules(core_registry(), ['ghost'], package=SAMPLES)


def test_it_says_when_the_module_package_is_missing() -> None:
    with pytest.raises(ModuleError, match='not installed'):
        load_modules(core_registry(), ['alpha'], package='no_such_package_here')


def test_it_lets_a_module_s_own_import_error_through() -> None:
    with pytest.raises(ModuleNotFoundError, match='enclave_dependency_that_is_not_installed'):
        load_modules(core_registry(), ['broken'], package=SAMPLES)


@pytest.mark.parametrize(
    ('name', 'message'),
    [
        ('Alpha', 'not a module name'),
        ('../alpha', 'not a module name'),
        ('nospec', 'does not declare MODULE'),
        ('misnamed', 'declares the name "othername"'),
    ],
)
def test_it_refuses_a_module_that_does_not_fit(name: str, message: str) -> None:
    registry = core_registry()
    with pytest.raises(ModuleError, match=message):
        load_modules(registry, [name], package=SAMPLES)
    assert [module.name for module in registry.modules()] == ['core']


def test_it_refuses_a_module_enabled_twice() -> None:
    registry = core_registry()
    with pytest.raises(ModuleError, match='"alpha" is enabled twice'):
        load_modules(registry, ['alpha', 'alpha'], package=SAMPLES)


@pytest.mark.parametrize('name', ['x', 'Tasks', '1tasks', 'tasks-board', 'a' * 33, ''])
def test_it_refuses_a_bad_module_name(name: str) -> None:
    with pytest.raises(ModuleError, match='invalid'):
        core_registry().register(spec(name))


@pytest.mark.parametrize('permission', ['tasks', 'tasks.Edit', 'tasks.edit.more', 'projects.edit', 'tasks.', '.edit'])
def test_it_refuses_a_permission_not_named_module_dot_verb(permission: str) -> None:
    registry = core_registry()
    with pytest.raises(ModuleError, match=r'must be named "tasks\.<verb>"'):
        registry.register(spec('tasks', permissions=(Permission(permission, 'Do something'),)))
    assert registry.get('tasks') is None


def test_it_refuses_a_nav_item_needing_an_unknown_permission() -> None:
    item = NavItem('Tasks', '/tasks', 'task', 'tasks.view')
    with pytest.raises(ModuleError, match=r'"/tasks" of module "tasks" needs unknown permission "tasks\.view"'):
        core_registry().register(spec('tasks', nav=(item,)))


def test_it_accepts_a_nav_item_needing_a_permission_of_an_earlier_module() -> None:
    registry = core_registry()
    registry.register(spec('tasks', nav=(NavItem('Find', '/tasks/find', 'search', 'core.search'),)))
    assert registry.get('tasks') is not None


def test_it_refuses_to_change_once_frozen() -> None:
    registry = core_registry()
    registry.freeze()
    assert registry.frozen
    with pytest.raises(ModuleError, match='frozen'):
        registry.register(spec('tasks'))
    with pytest.raises(ModuleError, match='frozen'):
        load_modules(registry, ['alpha'], package=SAMPLES)
    assert [module.name for module in registry.modules()] == ['core']


def test_it_gives_admins_every_permission_and_others_what_their_roles_hold() -> None:
    registry = core_registry()
    load_modules(registry, ['alpha', 'beta'], package=SAMPLES)
    assert registry.permissions_for_roles(['admin']) == registry.permission_names()
    assert registry.permissions_for_roles(['member']) == {'core.directory', 'core.search', 'alpha.view'}
    assert registry.permissions_for_roles(['reviewer']) == {'beta.review'}
    assert registry.permissions_for_roles([]) == set()
    assert registry.role_names() == ['admin', 'member', 'reviewer']


def test_it_stops_the_app_with_a_message_when_a_module_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from appliance import main
    from appliance.config import get_settings

    monkeypatch.setenv('ENCLAVE_ENABLED_MODULES', '["ghost"]')
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as caught:
        main.main()
    assert caught.value.code == 2
    assert 'Enclave cannot start: Module "ghost" is enabled in the configuration but is not installed.' in (
        capsys.readouterr().err
    )


def test_it_refuses_a_nav_item_in_an_unknown_group() -> None:
    item = NavItem('Tasks', '/tasks', 'task', 'core.search', 'tools')
    with pytest.raises(ModuleError, match=r'"/tasks" of module "tasks" has group "tools": use one of work, admin'):
        core_registry().register(spec('tasks', nav=(item,)))
