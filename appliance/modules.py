"""The module registry: each `modules/<name>/__init__.py` declares a `MODULE = ModuleSpec(...)`.

The core loads the modules named in `enabled_modules`, in order, checks their requirements, and freezes
the registry; nothing else in the core names a module.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

    from appliance.search import SearchHit

NAME_RE = re.compile(r'^[a-z][a-z0-9_]{1,31}$')
PERMISSION_RE = re.compile(r'^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$')


class ModuleError(RuntimeError):
    """A module cannot be loaded; the message says which and why."""


@dataclass(frozen=True)
class Permission:
    """A permission named `<module>.<verb>`, with a description and the built-in roles that hold it."""

    name: str
    description: str
    roles: tuple[str, ...] = ('admin',)


@dataclass(frozen=True)
class NavItem:
    """An entry in the left navigation; shown only to users holding `permission`."""

    label: str
    path: str
    icon: str
    permission: str


@dataclass(frozen=True)
class HealthCheck:
    """A named check returning (status, message): status is 'green', 'amber' or 'red'."""

    name: str
    run: Callable[..., tuple[str, str]]


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


SearchProvider = Callable[..., 'list[SearchHit]']
"""Called as provider(session=, actor=, query=, limit=) and returns only hits the actor may see."""


@dataclass(frozen=True)
class ModuleSpec:
    """What a module declares about itself. Hooks are optional; the core looks them up by name."""

    name: str
    label: str
    requires: tuple[str, ...] = ()
    nav: tuple[NavItem, ...] = ()
    permissions: tuple[Permission, ...] = ()
    search: SearchProvider | None = None
    register_pages: Callable[[], None] | None = None
    api_router: Callable[[], APIRouter] | None = None
    backup_hooks: BackupHooks | None = None
    health_checks: tuple[HealthCheck, ...] = ()
    jobs: tuple[ScheduledJob, ...] = ()
    dashboard_cards: tuple[Callable[..., None], ...] = ()
    # Pages and API paths the outsider must be refused on (the contract test walks them).
    protected_paths: tuple[str, ...] = ()
    # Contributions to extension points that other modules offer (e.g. {'projects.tabs': (...)}). A module
    # that offers a point reads them with `Registry.contributions(point)`; only loaded modules contribute.
    contributes: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


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
            if item.permission not in known:
                raise ModuleError(
                    f'Nav item "{item.path}" of module "{spec.name}" needs unknown permission "{item.permission}".'
                )
        self._modules[spec.name] = spec

    def freeze(self) -> None:
        """Refuse any later change."""
        self._frozen = True

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

    def contributions(self, point: str) -> list[Any]:
        """Everything the loaded modules contribute to the extension point `point`, in load order."""
        return [item for spec in self._modules.values() for item in spec.contributes.get(point, ())]

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
        """The permissions a holder of `roles` has; admin holds all of them."""
        held = set(roles)
        if 'admin' in held:
            return self.permission_names()
        return {perm.name for perm in self.permissions() if held.intersection(perm.roles)}


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
        registry.register(spec)


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
    """The parts every install has, in order: the core, then the built-in modules (the maintenance console)."""
    from appliance.core_module import CORE  # the core's spec imports services, which import this module

    return [CORE, *import_specs(BUILTIN)]


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
