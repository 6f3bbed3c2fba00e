#!/usr/bin/env python3
"""Write a new module of the documented shape (docs/architecture.md) into `modules/NAME/` (or `--into FOLDER`),
and its tests into `tests/modules/NAME/` (or `--tests-into FOLDER`).

    .venv/bin/python scripts/new_module.py notes --label Notes

The module keeps notes that their author shares with chosen people: a page, API routes, a permission, an access
rule in its services, a search hook, a backup hook, a health check and its first migration (chained to the current
head). Its tests: a service test and the sample the generated contract test needs. It passes `make check` and the
contract test as written: add NAME to `enabled_modules`, run `enclave migrate`, and grow it from there.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME_RE = re.compile(r'^[a-z][a-z0-9_]{1,31}$')

TEMPLATE: dict[str, str] = {
    '__init__.py': '''\
"""{label}: notes that their author shares with chosen people (made by scripts/new_module.py)."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import ModuleSpec, NavItem, Permission

MODULE = ModuleSpec(
    name='{name}',
    label=N_('{label}'),
    permissions=(Permission('{name}.use', N_('Read and write {label}'), roles=('admin', 'member')),),
    nav=(NavItem(N_('{label}'), '/{name}', 'sticky_note_2', '{name}.use'),),
    protected_paths=('/{name}', '/api/v1/{name}/notes'),
)
''',
    'models.py': '''\
"""{label} tables (prefix `{name}_`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db import Base, utcnow


class Note(Base):
    """A short note and who wrote it."""

    __tablename__ = '{name}_notes'
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoteReader(Base):
    """Someone the author shared a note with."""

    __tablename__ = '{name}_note_readers'
    note_id: Mapped[int] = mapped_column(ForeignKey('{name}_notes.id', ondelete='CASCADE'), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), primary_key=True)
''',
    'views.py': '''\
"""Read models of {label} that pages and the API render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class NoteView:
    """A note as a reader sees it."""

    id: int
    title: str
    created_at: datetime
''',
    'services/__init__.py': '''\
"""The public surface of {label}: pages, the API, hooks and other modules import only this package.

Who sees a note: its author and the people it is shared with. Everyone else is told there is no such note, so an
id reveals nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from appliance.errors import N_, NotFound, ValidationError
from appliance.models import User
from appliance.services import audit
from appliance.services.permissions import require
from modules.{name}.models import Note, NoteReader
from modules.{name}.views import NoteView

MAX_TITLE = 200
MAX_READERS = 100


def _view(note: Note) -> NoteView:
    return NoteView(id=note.id, title=note.title, created_at=note.created_at)


def visible_to(actor: User) -> ColumnElement[bool]:
    """The notes `actor` may read: written by them or shared with them (search uses it too)."""
    shared = select(NoteReader.note_id).where(NoteReader.user_id == actor.id)
    return or_(Note.author_id == actor.id, Note.id.in_(shared))


def list_notes(*, session: Session, actor: User, limit: int = 50) -> list[NoteView]:
    """The newest notes the actor may read, newest first."""
    require(actor, '{name}.use')
    stmt = select(Note).where(visible_to(actor)).order_by(Note.id.desc()).limit(max(1, min(limit, 200)))
    return [_view(note) for note in session.scalars(stmt)]


def get_note(*, session: Session, actor: User, note_id: int) -> NoteView:
    """One note the actor may read; any other id is 'no such note'."""
    require(actor, '{name}.use')
    note = session.scalars(select(Note).where(Note.id == note_id, visible_to(actor))).first()
    if note is None:
        raise NotFound(N_('No such note.'))
    return _view(note)


def add_note(*, session: Session, actor: User, title: str, readers: list[int] | None = None) -> NoteView:
    """Write a note (1 to 200 characters) and share it with `readers` (active accounts)."""
    require(actor, '{name}.use')
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationError(N_('A note needs a title of 1 to 200 characters.'), field='title')
    wanted = sorted(set(readers or []) - {{actor.id}})
    if len(wanted) > MAX_READERS:
        raise ValidationError(N_('A note can be shared with at most 100 people.'), field='readers')
    known = set(session.scalars(select(User.id).where(User.id.in_(wanted), User.is_active)))
    if known != set(wanted):
        raise ValidationError(N_('A note can only be shared with active accounts.'), field='readers')
    note = Note(title=title, author_id=actor.id)
    session.add(note)
    session.flush()
    session.add_all(NoteReader(note_id=note.id, user_id=user_id) for user_id in wanted)
    audit.record(session=session, actor=actor, action='{name}.note_added', target=f'note:{{note.id}}')
    return _view(note)


def count_notes(session: Session) -> int:
    """How many notes there are (the health check reads it)."""
    return session.scalar(select(func.count()).select_from(Note)) or 0
''',
    'api/__init__.py': '''\
"""REST API of {label}, under /api/v1/{name}."""

from __future__ import annotations

from appliance.api.deps import Router
from modules.{name}.api import notes


def router() -> Router:
    """Every route of the module."""
    combined = Router()
    combined.include_router(notes.router)
    return combined
''',
    'api/notes.py': '''\
"""Notes: list, read and write."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from appliance.api.deps import DB, Actor, Id, IdValue, Router
from modules.{name} import services

router = Router(prefix='/api/v1/{name}', tags=['{name}'])


class NoteOut(BaseModel):
    """A note."""

    id: int
    title: str
    created_at: datetime


class NoteIn(BaseModel):
    """A new note and the ids of the people to share it with."""

    title: str = Field(min_length=1, max_length=200)
    readers: list[IdValue] = Field(default_factory=list, max_length=100)


@router.get('/notes', response_model=list[NoteOut])
def list_notes(session: DB, actor: Actor) -> list[NoteOut]:
    """The newest notes."""
    return [NoteOut(**vars(note)) for note in services.list_notes(session=session, actor=actor)]


@router.get('/notes/{{note_id}}', response_model=NoteOut)
def get_note(note_id: Id, session: DB, actor: Actor) -> NoteOut:
    """One note."""
    return NoteOut(**vars(services.get_note(session=session, actor=actor, note_id=note_id)))


@router.post('/notes', response_model=NoteOut, status_code=201)
def add_note(body: NoteIn, session: DB, actor: Actor) -> NoteOut:
    """Write a note, shared with `readers`."""
    return NoteOut(**vars(services.add_note(session=session, actor=actor, title=body.title, readers=body.readers)))
''',
    'pages/__init__.py': '''\
"""Pages of {label}."""

from __future__ import annotations


def register() -> None:
    """Register every page of the module."""
    from appliance.ui.guard import protected_page
    from modules.{name}.pages.notes import notes_page

    protected_page('/{name}', permission='{name}.use')(notes_page)
''',
    'pages/notes.py': '''\
"""The notes page: the newest notes the reader may see and a field to add one (shared with no one)."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext
from modules.{name} import services


async def notes_page(ctx: PageContext) -> None:
    """List and add notes. Reads happen first, on a database thread (`await read`); the page is then built."""
    notes = await read(ctx.user, lambda s, a: services.list_notes(session=s, actor=a))
    with frame(ctx, _('{label}')):

        @ui.refreshable
        def listing() -> None:
            with ui.column().classes('gap-1').mark('{name}-notes'):
                for note in notes:
                    ui.label(note.title)

        async def add() -> None:
            if await act(lambda s, a: services.add_note(session=s, actor=a, title=title.value or '')):
                title.value = ''
                notes[:] = await read(ctx.user, lambda s, a: services.list_notes(session=s, actor=a))
                listing.refresh()

        with ui.row().classes('items-center gap-2'):
            title = ui.input(_('Title')).mark('{name}-title')
            ui.button(_('Add'), on_click=add).mark('{name}-add')
        listing()
''',
    'search.py': '''\
"""Search hook: notes whose title contains the query."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.models import User
from appliance.search import SearchHit, like_pattern, match_score
from appliance.services.permissions import has_permission
from modules.{name}.models import Note
from modules.{name}.services import visible_to


def search(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Notes the actor may read whose title contains `query`."""
    if not has_permission(actor, '{name}.use'):
        return []
    matches = Note.title.ilike(like_pattern(query), escape='\\\\')
    stmt = select(Note).where(matches, visible_to(actor)).limit(max(limit, 1))
    return [
        SearchHit(
            module='{name}',
            kind='note',
            title=note.title,
            url='/{name}',
            score=match_score(query, note.title),
        )
        for note in session.scalars(stmt)
    ]
''',
    'backup.py': '''\
"""Backup hook: the tables every backup dumps and every restore proves by their row counts."""

from __future__ import annotations

from appliance.modules import BackupHooks

BACKUP = BackupHooks(tables=('{name}_notes', '{name}_note_readers'))
''',
    'health.py': '''\
"""Health hook: the notes table answers."""

from __future__ import annotations

from appliance.db import get_database
from appliance.errors import N_
from appliance.extensions import Status
from appliance.i18n import gettext
from appliance.modules import HealthCheck
from modules.{name} import services


def notes_table() -> tuple[Status, str]:
    """Green with the number of notes."""
    with get_database().session() as session:
        count = services.count_notes(session)
    return Status.GREEN, gettext(N_('{{count}} notes.'), count=count)


CHECKS = (HealthCheck('notes', notes_table),)
''',
    'migrations/__init__.py': '',
}

TESTS: dict[str, str] = {
    '__init__.py': '',
    'contract_samples.py': '''\
"""{label}'s sample for the contract test: a note of alice's shared with bob (charlie is not a reader)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.db import get_database
from appliance.models import User
from modules.{name} import services
from tests.conftest import People
from tests.support.contract import SECRET


def note(people: People, found: Mapping[str, Any]) -> dict[str, Any]:
    """{{note_id}}: alice's note, shared with bob."""
    with get_database().session() as session:
        alice = session.get(User, people.alice.id)
        assert alice is not None
        made = services.add_note(session=session, actor=alice, title=SECRET, readers=[people.bob.id])
        return {{'note_id': made.id}}


SAMPLES = [note]
''',
    'test_services.py': '''\
"""{label}: who reads a note, and what a bad note is told."""

from __future__ import annotations

import pytest

from appliance.db import get_database
from appliance.errors import NotFound, ValidationError
from appliance.models import User
from modules.{name} import services
from tests.conftest import People


def actor(user: User) -> User:
    with get_database().session() as session:
        found = session.get(User, user.id)
        assert found is not None
        session.expunge(found)
        return found


def test_a_note_is_read_by_its_author_and_its_readers_only(people: People) -> None:
    with get_database().session() as session:
        made = services.add_note(session=session, actor=actor(people.alice), title='Plan', readers=[people.bob.id])
    with get_database().session() as session:
        assert [n.title for n in services.list_notes(session=session, actor=actor(people.bob))] == ['Plan']
        assert services.list_notes(session=session, actor=actor(people.charlie)) == []
        with pytest.raises(NotFound):
            services.get_note(session=session, actor=actor(people.charlie), note_id=made.id)


@pytest.mark.parametrize(('title', 'readers'), [('', []), ('x' * 201, []), ('Fine', [999_999])])
def test_a_bad_note_is_refused_and_nothing_is_written(people: People, title: str, readers: list[int]) -> None:
    with get_database().session() as session, pytest.raises(ValidationError):
        services.add_note(session=session, actor=actor(people.alice), title=title, readers=readers)
    with get_database().session() as session:
        assert services.count_notes(session) == 0
''',
}

MIGRATION = '''\
"""{label}: the notes table.

Revision ID: {revision}
Revises: {down_revision}
Create Date: {created}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '{revision}'
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        '{name}_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['core_users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        '{name}_note_readers',
        sa.Column('note_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['note_id'], ['{name}_notes.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['core_users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('note_id', 'user_id'),
    )


def downgrade() -> None:
    op.drop_table('{name}_note_readers')
    op.drop_table('{name}_notes')
'''


def current_head() -> str:
    """The head revision of the migrations of everything installed (the new module chains onto it)."""
    from appliance.migrate import head_revision

    return head_revision()


def write_module(name: str, label: str, into: Path, *, down_revision: str | None, tests_into: Path) -> Path:
    """Write the module `name` into `into/name/` and its tests into `tests_into/name/`; return the module's folder.

    Refuses a bad name, and a name whose module or tests folder exists (nothing is overwritten)."""
    if not NAME_RE.match(name):
        raise SystemExit(f'"{name}" is not a module name: use 2 to 32 lower-case letters, digits and _.')
    folder, tests = into / name, tests_into / name
    for existing in (folder, tests):
        if existing.exists():
            raise SystemExit(f'{existing} exists already; choose another name.')
    for base, files in ((folder, TEMPLATE), (tests, TESTS)):
        for rel, text in files.items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text.format(name=name, label=label), encoding='utf-8')
    revision = secrets.token_hex(6)
    now = datetime.now(UTC)
    (folder / 'migrations' / f'{now:%Y%m%d}_{revision}_{name}_notes.py').write_text(
        MIGRATION.format(
            name=name,
            label=label,
            revision=revision,
            down_revision=down_revision,
            down_repr=repr(down_revision),
            created=now.isoformat(timespec='seconds'),
        ),
        encoding='utf-8',
    )
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('name', help='the module name: lower-case letters, digits and _')
    parser.add_argument('--label', help='its name in the navigation (default: the name, capitalised)')
    parser.add_argument('--into', type=Path, default=ROOT / 'modules', help='where to write it (default: modules/)')
    parser.add_argument(
        '--tests-into', type=Path, default=ROOT / 'tests' / 'modules', help='its tests (default: tests/modules/)'
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    label = args.label or args.name.capitalize()
    folder = write_module(args.name, label, args.into, down_revision=current_head(), tests_into=args.tests_into)
    print(f'Wrote {folder}. Add "{args.name}" to enabled_modules, then run: enclave migrate')
    return 0


if __name__ == '__main__':
    sys.exit(main())
