"""The module registry: each `modules/<name>/__init__.py` declares a `MODULE = ModuleSpec(...)`.

The core loads the modules named in `enabled_modules`, in order, checks their requirements, finds each module's
hooks by their fixed file names (see `HOOK_FILES`), checks the extension points and freezes the registry; nothing
else in the core names a module.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from appliance.extensions import Contribution, ExtensionPoint, SearchProvider, Status

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from sqlalchemy.orm import Session


T = TypeVar('T')

NAME_RE = re.compile(r'^[a-z][a-z0-9_]{1,31}$')
PERMISSION_RE = re.compile(r'^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$')


class ModuleError(RuntimeError):
    """A module cannot be loaded; the message says which and why."""


@dataclass(frozen=True)
class Permission:
    """A permission named `<module>.<verb>`, with a description and the built-in roles that hold it.

    `admin`: whether the admin role holds it too (the default). Rights that separate duties, such as HR's reading of
    personnel records, say False: an administrator gets them only by holding a role that lists them.
    """

    name: str
    description: str
    roles: tuple[str, ...] = ('admin',)
    admin: bool = True


@dataclass(frozen=True)
class NavItem:
    """An entry in the left navigation; shown only to users holding `permission`.

    `group` places it: 'work' (daily work, first), 'admin' (Administration) or 'maintenance' (Maintenance).
    """

    label: str
    path: str
    icon: str
    permission: str
    group: str = 'work'


NAV_GROUPS = ('work', 'admin', 'maintenance')


@dataclass(frozen=True)
class CardLine:
    """A line of a home card: a text, where it leads, a caption under it, a tone ('' | 'red' | 'amber' | 'green')
    and an optional progress (0..1, drawn as a bar)."""

    text: str
    href: str = ''
    caption: str = ''
    tone: str = ''
    progress: float | None = None


@dataclass(frozen=True)
class CardContent:
    """What a home card shows: a title, a sentence under it, its lines (or `empty` when there are none), and a link
    to the whole list (`href`, labelled `more`)."""

    title: str
    lines: tuple[CardLine, ...] = ()
    summary: str = ''
    tone: str = ''
    href: str = ''
    more: str = ''
    empty: str = ''


@dataclass(frozen=True)
class DashboardCard:
    """A card on everyone's home page, from a module's `dashboard.py` (`CARDS`).

    `load(session, actor, today)` runs on a database thread in the page's read-only snapshot, in the reader's
    language, and returns what the card shows (None: nothing to show this reader). Shown to readers holding
    `permission`; cards are placed by `order` (lower first). One that fails is left out, not the page.
    """

    name: str
    permission: str
    load: Callable[[Session, Any, date], CardContent | None]
    order: int = 100


@dataclass(frozen=True)
class HealthCheck:
    """A named check: `run()` answers (Status, a sentence in the reader's language); raising counts as red.

    `title` is what people read (a msgid, e.g. N_('Restore drill')); `name` is its id in states and logs.
    """

    name: str
    run: Callable[[], tuple[Status, str]]
    title: str = ''


@dataclass(frozen=True)
class ScheduledJob:
    """A job for the scheduler: an APScheduler trigger spec and a blocking function run off the event loop."""

    id: str
    func: Callable[[], None]
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupHooks:
    """What the maintenance console needs to back up and restore a module.

    `tables`: the module's tables (in the database dump; their row counts go into the manifest).
    `blob_owners`: the `owner` names the module uses for blob refs (its files are in the blob store).
    `before_backup` / `after_restore`: optional functions called with `session=` (e.g. to flush a cache or
    rebuild a search index after a restore). They must be idempotent.
    """

    tables: tuple[str, ...]
    blob_owners: tuple[str, ...] = ()
    before_backup: Callable[..., None] | None = None
    after_restore: Callable[..., None] | None = None


@dataclass(frozen=True)
class ModuleSpec:
    """What a module declares about itself, in its `__init__.py`.

    The hooks (search ... cli) are normally left unset here: the loader finds them in the module's files with
    fixed names (`HOOK_FILES`) and fills them in. Setting one here as well as having its file is refused.
    """

    name: str
    label: str
    requires: tuple[str, ...] = ()
    nav: tuple[NavItem, ...] = ()
    permissions: tuple[Permission, ...] = ()
    # Sub-packages that hold hooks of their own, in the module shape (the console's backup, health ...).
    parts: tuple[str, ...] = ()
    search: SearchProvider | None = None
    register_pages: Callable[[], None] | None = None
    api_router: Callable[[], APIRouter] | None = None
    backup_hooks: BackupHooks | None = None
    health_checks: tuple[HealthCheck, ...] = ()
    jobs: tuple[ScheduledJob, ...] = ()
    cli: Callable[[typer.Typer], None] | None = None
    dashboard_cards: tuple[DashboardCard, ...] = ()
    # Pages and API paths the outsider must be refused on (the contract test walks them).
    protected_paths: tuple[str, ...] = ()
    # The typed extension points this module offers (declared in its extensions.py).
    offers: tuple[ExtensionPoint[Any], ...] = ()
    # What it adds to points that it, the core or a module it requires offers: `(POINT.contribute(item, ...), ...)`.
    contributes: tuple[Contribution[Any], ...] = ()


# The hooks a module keeps in files of fixed names: file -> (the name the file defines, the ModuleSpec field).
# pages, api and cli are imported only when used (registering pages, mounting the API, running the command).
HOOK_FILES: dict[str, tuple[str, str]] = {
    'pages': ('register', 'register_pages'),
    'api': ('router', 'api_router'),
    'search': ('search', 'search'),
    'backup': ('BACKUP', 'backup_hooks'),
    'jobs': ('JOBS', 'jobs'),
    'health': ('CHECKS', 'health_checks'),
    'dashboard': ('CARDS', 'dashboard_cards'),
    'cli': ('register', 'cli'),
}
LAZY_HOOKS = ('pages', 'api', 'cli')


class Registry:
    """Loaded modules in load order. Frozen after start-up: a late change raises."""

    def __init__(self) -> None:
        self._modules: dict[str, ModuleSpec] = {}
        self._frozen = False

    def register(self, spec: ModuleSpec) -> None:
        """Add a module, checking its name, requirements and permission names."""
        if self._frozen:
            raise ModuleError(f'Module registry is frozen; cannot add "{spec.name}" after start-up.')
        if not NAME_RE.match(spec.name):
            raise ModuleError(f'Module name "{spec.name}" is invalid: use lower-case letters, digits and _.')
        if spec.name in self._modules:
            raise ModuleError(f'Module "{spec.name}" is enabled twice.')
        missing = [req for req in spec.requires if req not in self._modules]
        if missing:
            raise ModuleError(
                f'Module "{spec.name}" requires {", ".join(missing)}: '
                f'enable it before "{spec.name}" in enabled_modules.'
            )
        names = {perm.name for perm in spec.permissions}
        for perm in spec.permissions:
            if not PERMISSION_RE.match(perm.name) or perm.name.split('.')[0] != spec.name:
                raise ModuleError(
                    f'Permission "{perm.name}" of module "{spec.name}" must be named "{spec.name}.<verb>".'
                )
        known = names | self.permission_names()
        for item in spec.nav:
            if item.group not in NAV_GROUPS:
                raise ModuleError(
                    f'Nav item "{item.path}" of module "{spec.name}" has group "{item.group}": use one of '
                    f'{", ".join(NAV_GROUPS)}.'
                )
            if item.permission not in known:
                raise ModuleError(
                    f'Nav item "{item.path}" of module "{spec.name}" needs unknown permission "{item.permission}".'
                )
        self._modules[spec.name] = spec

    def freeze(self) -> None:
        """Check every contribution against the points the loaded modules offer, then refuse any later change."""
        self.check_contributions()
        self._frozen = True

    def check_contributions(self) -> None:
        """Each typed contribution goes to a point a loaded module offers, from that module or one requiring it,
        and holds items of the point's type; otherwise a ModuleError says which and what to do."""
        offered = {point.name: (spec.name, point) for spec in self._modules.values() for point in spec.offers}
        for spec in self._modules.values():
            for contribution in spec.contributes:
                point, items, name = contribution.point, contribution.items, contribution.point.name
                owner = offered.get(name)
                if owner is None:
                    raise ModuleError(
                        f'Module "{spec.name}" contributes to "{name}", which no loaded module offers: enable '
                        f'"{point.owner}" before "{spec.name}", or list it in the ModuleSpec.offers of "{point.owner}".'
                    )
                if owner[0] not in (spec.name, 'core') and owner[0] not in spec.requires:
                    raise ModuleError(
                        f'Module "{spec.name}" contributes to "{name}" of "{owner[0]}" without requiring it: '
                        f'add "{owner[0]}" to its requires.'
                    )
                wrong = [item for item in items if not point.accepts(item)]
                if wrong:
                    raise ModuleError(
                        f'Module "{spec.name}" contributes {wrong[0]!r} to "{name}", which takes '
                        f'{point.kind.__name__ if point.kind else "function"} items.'
                    )

    @property
    def frozen(self) -> bool:
        """True once start-up has finished."""
        return self._frozen

    def modules(self) -> list[ModuleSpec]:
        """The loaded modules in load order."""
        return list(self._modules.values())

    def get(self, name: str) -> ModuleSpec | None:
        """The module called `name`, or None."""
        return self._modules.get(name)

    def contributions(self, point: ExtensionPoint[T]) -> list[T]:
        """Everything the loaded modules contribute to `point`, in load order."""
        return [
            item
            for spec in self._modules.values()
            for contribution in spec.contributes
            if contribution.point.name == point.name
            for item in contribution.items
        ]

    def permissions(self) -> list[Permission]:
        """Every permission of every loaded module."""
        return [perm for spec in self._modules.values() for perm in spec.permissions]

    def permission_names(self) -> set[str]:
        """The names of every permission."""
        return {perm.name for perm in self.permissions()}

    def role_names(self) -> list[str]:
        """Every role that some permission mentions; 'admin' and 'member' always exist."""
        roles = ['admin', 'member']
        for perm in self.permissions():
            roles.extend(role for role in perm.roles if role not in roles)
        return roles

    def permissions_for_roles(self, roles: Iterable[str]) -> set[str]:
        """The permissions a holder of `roles` has; admin holds all of them but those kept from it (`admin=False`)."""
        held = set(roles)
        admin = 'admin' in held
        return {perm.name for perm in self.permissions() if (admin and perm.admin) or held.intersection(perm.roles)}


def load_modules(registry: Registry, names: Sequence[str], *, package: str = 'modules') -> None:
    """Import `<package>.<name>` for each enabled name, in order, and register its MODULE."""
    for name in names:
        if not NAME_RE.match(name):
            raise ModuleError(f'enabled_modules contains "{name}", which is not a module name.')
        try:
            module = importlib.import_module(f'{package}.{name}')
        except ModuleNotFoundError as exc:
            if exc.name in (f'{package}.{name}', package):
                raise ModuleError(f'Module "{name}" is enabled in the configuration but is not installed.') from exc
            raise
        spec = getattr(module, 'MODULE', None)
        if not isinstance(spec, ModuleSpec):
            raise ModuleError(f'Module "{name}" does not declare MODULE = ModuleSpec(...) in its __init__.py.')
        if spec.name != name:
            raise ModuleError(f'Module folder "{name}" declares the name "{spec.name}"; they must match.')
        registry.register(with_hooks(spec, f'{package}.{name}'))


def with_hooks(spec: ModuleSpec, package: str) -> ModuleSpec:
    """`spec` with the hooks found in `package` and in each of its `parts` (files named as in HOOK_FILES)."""
    found: dict[str, list[Any]] = {}
    for base in (package, *(f'{package}.{part}' for part in spec.parts)):
        for file, (attribute, hook) in HOOK_FILES.items():
            if base == package and file in spec.parts:
                continue  # a part of that name, not a hook file
            name = f'{base}.{file}'
            if importlib.util.find_spec(name) is None:
                continue
            if getattr(spec, hook) not in (None, ()):
                raise ModuleError(
                    f'Module "{spec.name}" sets {hook} in its ModuleSpec and also has {name.replace(".", "/")}.py; '
                    'keep one of them (the file).'
                )
            found.setdefault(hook, []).append(
                _lazy_hook(name, attribute) if file in LAZY_HOOKS else _hook(name, attribute)
            )
    return dataclasses.replace(spec, **{hook: _merge(hook, values) for hook, values in found.items()})


def _hook(module_name: str, attribute: str) -> Any:
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        raise ModuleError(f'{module_name.replace(".", "/")}.py must define {attribute}.')
    return getattr(module, attribute)


def _lazy_hook(module_name: str, attribute: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return _hook(module_name, attribute)(*args)

    call.__qualname__ = f'{module_name}.{attribute}'
    return call


def _merge(hook: str, values: list[Any]) -> Any:
    """One hook value from those of a module and its parts."""
    if hook in ('jobs', 'health_checks'):
        return tuple(item for value in values for item in value)
    if len(values) == 1:
        return values[0]
    if hook == 'backup_hooks':
        return BackupHooks(
            tables=tuple(table for value in values for table in value.tables),
            blob_owners=tuple(owner for value in values for owner in value.blob_owners),
            before_backup=_each([value.before_backup for value in values]),
            after_restore=_each([value.after_restore for value in values]),
        )
    if hook == 'api_router':
        return lambda: _routers(values)
    if hook == 'search':
        return lambda **kwargs: [hit for search in values for hit in search(**kwargs)]
    return lambda *args: [value(*args) for value in values] and None  # register_pages, cli: call each in order


def _each(functions: list[Callable[..., None] | None]) -> Callable[..., None] | None:
    present = [function for function in functions if function is not None]
    if not present:
        return None

    def call(*, session: Session) -> None:
        for function in present:
            function(session=session)

    return call


def _routers(factories: list[Callable[[], APIRouter]]) -> APIRouter:
    from fastapi import APIRouter

    router = APIRouter()
    for factory in factories:
        router.include_router(factory())
    return router


def build_registry(names: Sequence[str], *, package: str = 'modules') -> Registry:
    """A fresh process-wide registry: the core first, then the enabled modules in order; frozen."""
    fresh = reset_registry()
    register_builtins(fresh)
    load_modules(fresh, names, package=package)
    fresh.freeze()
    return fresh


BUILTIN: tuple[str, ...] = ('console',)
"""The built-in modules' packages, in load order: always on, registered right after the core."""


def import_specs(packages: Sequence[str]) -> list[ModuleSpec]:
    """The `MODULE` each of `packages` declares, in order."""
    specs = []
    for package in packages:
        spec = getattr(importlib.import_module(package), 'MODULE', None)
        if not isinstance(spec, ModuleSpec):
            raise ModuleError(f'Built-in package "{package}" does not declare MODULE = ModuleSpec(...).')
        specs.append(spec)
    return specs


def builtin_specs() -> list[ModuleSpec]:
    """The parts every install has, in order: the core, then the built-in modules (the maintenance console), each
    with the hooks the loader finds in its files (the core's spec names its hooks itself)."""
    return list(_builtin_specs())


@functools.cache
def _builtin_specs() -> tuple[ModuleSpec, ...]:
    # Once per process: every caller gets the same spec objects (the hooks found are new functions each time).
    from appliance.core_module import CORE  # the core's spec imports services, which import this module

    builtins = (with_hooks(spec, package) for spec, package in zip(import_specs(BUILTIN), BUILTIN, strict=True))
    return (CORE, *builtins)


def module_packages(*, package: str = 'modules') -> list[str]:
    """Every installed module's package, enabled or not: the built-ins, then `modules.<name>` for each folder.

    Migrations and models are the install's, not the configuration's: one schema whatever is enabled."""
    found = list(BUILTIN)
    try:
        parent = importlib.import_module(package)
    except ModuleNotFoundError:
        return found
    found += sorted(f'{package}.{info.name}' for info in pkgutil.iter_modules(parent.__path__) if info.ispkg)
    return found


def register_builtins(registry: Registry) -> None:
    """Register the core and the built-in modules, before any module."""
    for spec in builtin_specs():
        registry.register(spec)


registry = Registry()
"""The process-wide registry, filled by `appliance.app.build` at start-up."""


def reset_registry() -> Registry:
    """Start over with an empty registry (each start-up, and each test, builds its own)."""
    global registry
    registry = Registry()
    return registry


def current_registry() -> Registry:
    """The registry of this process."""
    return registry
