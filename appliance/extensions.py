"""Typed extension points, the hook protocols of a ModuleSpec, and the one health status type.

A module that offers a point declares it in its `extensions.py` and lists it in `ModuleSpec.offers`:

    TABS = ExtensionPoint('projects.tabs', ProjectTab, owner='projects')

A module that requires it contributes objects of that type in `ModuleSpec.contributes`:

    contributes=(TABS.contribute(ProjectTab('board', N_('Board'), 'view_kanban', '/projects/{id}/board')),)

and the offering module reads them, typed, with `current_registry().contributions(TABS)`. `Registry.freeze()` refuses
a contribution to a point no loaded module offers, from a module that does not require the offering one, or of the
wrong type, with a sentence saying which. A misspelt point is a NameError at import, never a silent nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from appliance.models import User
    from appliance.search import SearchHit
    from appliance.ui.guard import PageContext

T = TypeVar('T')


class ExtensionPoint(Generic[T]):
    """A named point that the module `owner` offers; contributions must be instances of `kind`.

    `kind` is a class (a dataclass, usually), or None for points that take functions (typed by a Protocol:
    `POINT: ExtensionPoint[MyProtocol] = ExtensionPoint('x.point', None, owner='x')`).
    """

    def __init__(self, name: str, kind: type[T] | None, *, owner: str, doc: str = '') -> None:
        if not name.startswith(f'{owner}.'):
            raise ValueError(f'Extension point "{name}" of module "{owner}" must be named "{owner}.<point>".')
        self.name = name
        self.kind = kind
        self.owner = owner
        self.doc = doc

    def contribute(self, *items: T) -> Contribution[T]:
        """What a ModuleSpec lists in `contributes` to add `items` to this point."""
        return Contribution(self, tuple(items))

    def accepts(self, item: object) -> bool:
        """True when `item` has the type this point takes."""
        return callable(item) if self.kind is None else isinstance(item, self.kind)

    def __repr__(self) -> str:
        return f'ExtensionPoint({self.name!r}, owner={self.owner!r})'


@dataclass(frozen=True)
class Contribution(Generic[T]):
    """Items a module adds to one extension point."""

    point: ExtensionPoint[T]
    items: tuple[T, ...]


class Status(enum.StrEnum):
    """The state of a health check (and of the box): stored and sent as its lower-case value."""

    GREEN = 'green'
    AMBER = 'amber'
    RED = 'red'

    @classmethod
    def worst(cls, statuses: Any) -> Status:
        """red if any is red, else amber if any is amber, else green (also for none)."""
        seen = set(statuses)
        return cls.RED if cls.RED in seen else cls.AMBER if cls.AMBER in seen else cls.GREEN


class CheckResult(NamedTuple):
    """What a health check answers: a status and a sentence in the reader's language."""

    status: Status
    message: str


class HealthProbe(Protocol):
    """A health check's function: called with no arguments off the event loop; raising counts as red."""

    def __call__(self) -> tuple[Status, str]: ...


class SearchProvider(Protocol):
    """A module's search hook: returns only hits the actor may see, at most `limit`."""

    def __call__(self, *, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]: ...


class BackupHook(Protocol):
    """Called with the session before a backup or after a restore; must be idempotent."""

    def __call__(self, *, session: Session) -> None: ...


class BannerSource(Protocol):
    """A 'core.banners' contribution: called on every page with its context, returns (level, text, href) lines;
    it decides who sees what and must be cheap."""

    def __call__(self, ctx: PageContext) -> list[tuple[str, str, str]]: ...


class SeatGuard(Protocol):
    """A 'core.seat_guard' contribution: raises a ServiceError saying why when `adding` more active accounts do
    not fit (the license's seats); called before an account is created active or enabled."""

    def __call__(self, *, session: Session, adding: int) -> None: ...


# The core's own points (its ModuleSpec offers them).
@dataclass(frozen=True)
class AuditText:
    """The sentence the audit log shows for an action a module records (a msgid: `N_('Created the project
    {target}')`). Placeholders: {target} (the target without its `kind:` prefix) and the keys of the details."""

    action: str
    message: str


BANNERS: ExtensionPoint[BannerSource] = ExtensionPoint('core.banners', None, owner='core')
SEAT_GUARD: ExtensionPoint[SeatGuard] = ExtensionPoint('core.seat_guard', None, owner='core')
AUDIT_TEXTS = ExtensionPoint('core.audit_texts', AuditText, owner='core')
