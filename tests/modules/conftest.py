"""Fixtures for the module tests: the registry with projects and tasks, a team, and factories.

The team: alice (admin), bob and dave (members), charlie (an organisation member who is in no project: the
outsider of a members-only project), erin (an account with no role at all). Factories write straight to the
database (no actor, no audit), with keyword defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from appliance.db import get_database
from appliance.models import User
from appliance.modules import load_modules, register_builtins, reset_registry
from modules.projects.models import Member, Project
from modules.tasks.models import DEFAULT_WORKFLOW, Status, Task
from tests.conftest import make_user

ENABLED = ['projects', 'tasks', 'people']


@pytest.fixture(autouse=True)
def module_registry(data_dir: Path) -> Iterator[None]:
    """The registry holds the core and every shipped module for every module test."""
    registry = reset_registry()
    register_builtins(registry)
    load_modules(registry, ENABLED)
    registry.freeze()
    yield


@dataclass
class Team:
    """alice (admin), bob and dave (members), charlie (member of the org, of no project), erin (no role)."""

    alice: User
    bob: User
    charlie: User
    dave: User
    erin: User


@pytest.fixture
def team(data_dir: Path) -> Team:
    """Five people, created fresh."""
    return Team(
        alice=make_user(username='alice', roles=['admin'], display_name='Alice Admin'),
        bob=make_user(username='bob', roles=['member'], display_name='Bob 张伟'),
        charlie=make_user(username='charlie', roles=['member'], display_name='Charlie Outsider'),
        dave=make_user(username='dave', roles=['member'], display_name='Dave 李娜'),
        erin=make_user(username='erin', roles=[], display_name='Erin Norole'),
    )


def make_project(
    *,
    key: str = 'WEB',
    name: str = 'Website',
    owner: User | None = None,
    members: dict[int, str] | None = None,
    visibility: str = 'members',
    status: str = 'active',
    description: str = '',
    start_date: date | None = None,
    end_date: date | None = None,
) -> Project:
    """A project with members ({user_id: role}) and the default workflow's statuses."""
    with get_database().session() as session:
        project = Project(
            key=key,
            name=name,
            owner_id=owner.id if owner else None,
            visibility=visibility,
            status=status,
            description=description,
            start_date=start_date,
            end_date=end_date,
        )
        session.add(project)
        session.flush()
        for user_id, role in (members or {}).items():
            session.add(Member(project_id=project.id, user_id=user_id, role=role))
        for position, (status_name, closed) in enumerate(DEFAULT_WORKFLOW):
            session.add(Status(project_id=project.id, name=status_name, is_closed=closed, position=position))
    return project


def statuses_of(project_id: int) -> list[Status]:
    """The project's statuses in board order."""
    with get_database().session() as session:
        return list(session.scalars(select(Status).where(Status.project_id == project_id).order_by(Status.position)))


def make_task(
    *,
    project: Project,
    title: str = 'A task',
    status: str = 'To do',
    description: str = '',
    due_date: date | None = None,
    start_date: date | None = None,
    priority: str = 'normal',
    reporter: User | None = None,
) -> Task:
    """A task at the bottom of its column (not indexed for search: use the services to test search)."""
    with get_database().session() as session:
        status_row = session.scalars(select(Status).where(Status.project_id == project.id, Status.name == status)).one()
        number = (session.scalar(select(func.max(Task.number)).where(Task.project_id == project.id)) or 0) + 1
        position = (session.scalar(select(func.max(Task.position)).where(Task.status_id == status_row.id)) or 0) + 1024
        task = Task(
            project_id=project.id,
            number=number,
            status_id=status_row.id,
            position=position,
            title=title,
            description=description,
            due_date=due_date,
            start_date=start_date,
            priority=priority,
            reporter_id=reporter.id if reporter else None,
        )
        session.add(task)
    return task
