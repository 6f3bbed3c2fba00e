"""Checks and conversions shared by the projects services (not part of the public API of the module)."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.errors import N_, ValidationError
from appliance.models import User
from modules.projects.models import Project
from modules.projects.services import access
from modules.projects.views import ProjectView

NAME_MAX = 200
DESCRIPTION_MAX = 20_000


class Unset(enum.Enum):
    """The type of UNSET: an argument left out of an update keeps its current value."""

    UNSET = 'unset'


UNSET = Unset.UNSET


def clean_name(name: str, *, field: str = 'name') -> str:
    """A trimmed name of 1..200 characters, or ValidationError."""
    name = ' '.join((name or '').split())
    if not name:
        raise ValidationError(N_('Give it a name.'), field=field)
    if len(name) > NAME_MAX:
        raise ValidationError(N_('A name is at most {n} characters; shorten it.'), field=field, n=NAME_MAX)
    return name


def clean_description(description: str, *, field: str = 'description') -> str:
    """A description of at most 20,000 characters, or ValidationError."""
    description = (description or '').strip()
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(
            N_('A description is at most {n} characters; shorten it.'), field=field, n=DESCRIPTION_MAX
        )
    return description


def check_dates(start: date | None, end: date | None) -> None:
    """ValidationError unless the start comes no later than the end."""
    if start is not None and end is not None and end < start:
        raise ValidationError(
            N_('The end date is before the start date; pick an end on or after the start.'), field='end_date'
        )


FIRST_YEAR, LAST_YEAR = 1900, 2200


def check_year(value: date | None, *, field: str) -> date | None:
    """`value` when its year is a plausible one (1900–2200), else ValidationError.

    A browser's date field holds a valid date after the first digit of the year (0002-05-31): such a half-typed
    date must be refused, not saved.
    """
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            N_('The year {year} is not between {first} and {last}. Type the whole date, e.g. {example}.'),
            field=field,
            year=value.year,
            first=FIRST_YEAR,
            last=LAST_YEAR,
            example=date.today().isoformat(),
        )
    return value


def check_choice(value: str, choices: tuple[str, ...], *, field: str) -> str:
    """`value` if it is one of `choices`, else ValidationError naming them."""
    if value not in choices:
        raise ValidationError(N_('Choose one of: {choices}.'), field=field, choices=', '.join(choices))
    return value


def display_name(session: Session, user_id: int | None) -> str:
    """The display name of a user, or '' for none."""
    if user_id is None:
        return ''
    # One column, not the user with its roles: every project page shows the owner's name.
    name = session.execute(select(User.display_name).where(User.id == user_id)).scalar()
    return name or ''


def project_view(
    session: Session, actor: User, project: Project, *, role: str | None = None, owner_name: str | None = None
) -> ProjectView:
    """The project as `actor` sees it (the caller has checked they may); lists pass `role` and `owner_name` that
    they read for many projects at once."""
    role = role or access.role_in(session, actor, project) or 'viewer'
    writable = project.status != 'archived'
    return ProjectView(
        id=project.id,
        key=project.key,
        name=project.name,
        description=project.description,
        status=project.status,
        visibility=project.visibility,
        start_date=project.start_date,
        end_date=project.end_date,
        owner_id=project.owner_id,
        owner_name=display_name(session, project.owner_id) if owner_name is None else owner_name,
        created_at=project.created_at,
        my_role=role,
        can_edit=writable and access.LEVEL[role] >= access.LEVEL['member'],
        can_manage=writable and role == 'manager',
    )
