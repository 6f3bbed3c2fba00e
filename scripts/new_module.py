#!/usr/bin/env python3
"""Write a new module of the documented shape (docs/architecture.md) into `modules/NAME/` (or `--into FOLDER`).

    .venv/bin/python scripts/new_module.py notes --label Notes

The module has a page, an API route, a permission, a search hook, a backup hook, a health check and its first
migration (chained to the current head). It passes `make check` and the contract test as written: add NAME to
`enabled_modules`, run `enclave migrate`, and grow it from there.
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
"""{label}: notes that members write and everyone with {name}.use reads (made by scripts/new_module.py)."""

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
"""The public surface of {label}: pages, the API, hooks and other modules import only this package."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.errors import N_, NotFound, ValidationError
from appliance.models import User
from appliance.services import audit
from appliance.services.permissions import require
from modules.{name}.models import Note
from modules.{name}.views import NoteView

MAX_TITLE = 200


def _view(note: Note) -> NoteView:
    return NoteView(id=note.id, title=note.title, created_at=note.created_at)


def list_notes(*, session: Session, actor: User, limit: int = 50) -> list[NoteView]:
    """The newest notes, newest first."""
    require(actor, '{name}.use')
    stmt = select(Note).order_by(Note.id.desc()).limit(max(1, min(limit, 200)))
    return [_view(note) for note in session.scalars(stmt)]


def get_note(*, session: Session, actor: User, note_id: int) -> NoteView:
    """One note; a missing one is a clear error."""
    require(actor, '{name}.use')
    note = session.get(Note, note_id)
    if note is None:
        raise NotFound(N_('No such note.'))
    return _view(note)


def add_note(*, session: Session, actor: User, title: str) -> NoteView:
    """Write a note (1 to 200 characters)."""
    require(actor, '{name}.use')
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationError(N_('A note needs a title of 1 to 200 characters.'))
    note = Note(title=title, author_id=actor.id)
    session.add(note)
    session.flush()
    audit.record(session=session, actor=actor, action='{name}.note_added', target=f'note:{{note.id}}')
    return _view(note)


def count_notes(session: Session) -> int:
    """How many notes there are (the health check reads it)."""
    return session.scalar(select(func.count()).select_from(Note)) or 0
''',
    'api/__init__.py': '''\
"""REST API of {label}, under /api/v1/{name}."""

from __future__ import annotations

from fastapi import APIRouter

from modules.{name}.api import notes


def router() -> APIRouter:
    """Every route of the module."""
    combined = APIRouter()
    combined.include_router(notes.router)
    return combined
''',
    'api/notes.py': '''\
"""Notes: list, read and write."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from appliance.api.deps import DB, Actor, Id
from modules.{name} import services

router = APIRouter(prefix='/api/v1/{name}', tags=['{name}'])


class NoteOut(BaseModel):
    """A note."""

    id: int
    title: str
    created_at: datetime


class NoteIn(BaseModel):
    """A new note."""

    title: str = Field(min_length=1, max_length=200)


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
    """Write a note."""
    return NoteOut(**vars(services.add_note(session=session, actor=actor, title=body.title)))
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
"""The notes page: the newest notes and a field to add one."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import _
from appliance.ui.actions import act, read
from appliance.ui.frame import frame
from appliance.ui.guard import PageContext
from modules.{name} import services


def notes_page(ctx: PageContext) -> None:
    """List and add notes."""
    with frame(ctx, _('{label}')):

        @ui.refreshable
        def listing() -> None:
            notes = read(ctx.user, lambda s, a: services.list_notes(session=s, actor=a))
            with ui.column().classes('gap-1').mark('{name}-notes'):
                for note in notes:
                    ui.label(note.title)

        def add() -> None:
            if act(lambda s, a: services.add_note(session=s, actor=a, title=title.value or '')):
                title.value = ''
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


def search(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Notes the actor may read whose title contains `query`."""
    if not has_permission(actor, '{name}.use'):
        return []
    stmt = select(Note).where(Note.title.ilike(like_pattern(query), escape='\\\\')).limit(max(limit, 1))
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

BACKUP = BackupHooks(tables=('{name}_notes',))
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


def downgrade() -> None:
    op.drop_table('{name}_notes')
'''


def current_head() -> str:
    """The head revision of the migrations of everything installed (the new module chains onto it)."""
    from appliance.migrate import head_revision

    return head_revision()


def write_module(name: str, label: str, into: Path, *, down_revision: str | None) -> Path:
    """Write the module `name` into `into/name/` and return its folder; refuses to overwrite anything."""
    if not NAME_RE.match(name):
        raise SystemExit(f'"{name}" is not a module name: use 2 to 32 lower-case letters, digits and _.')
    folder = into / name
    if folder.exists():
        raise SystemExit(f'{folder} exists already; choose another name.')
    for rel, text in TEMPLATE.items():
        path = folder / rel
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
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    folder = write_module(args.name, args.label or args.name.capitalize(), args.into, down_revision=current_head())
    print(f'Wrote {folder}. Add "{args.name}" to enabled_modules, then run: enclave migrate')
    return 0


if __name__ == '__main__':
    sys.exit(main())
