"""The projects module's samples for the contract test: alice's members-only project (she and bob manage it,
charlie is in no project) and a milestone of it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from appliance.db import get_database
from modules.projects.models import Milestone
from tests.conftest import People
from tests.modules.conftest import make_project
from tests.support.contract import SECRET


def project(people: People, found: Mapping[str, Any]) -> dict[str, Any]:
    """{project_id} and the pages' {id}: the project; {milestone_id}: its milestone."""
    made = make_project(
        key='ZEB', name=SECRET, owner=people.alice, members={people.alice.id: 'manager', people.bob.id: 'manager'}
    )
    with get_database().session() as session:
        milestone = Milestone(project_id=made.id, name=SECRET, due_date=date(2026, 3, 1))
        session.add(milestone)
        session.flush()
        return {'project_id': made.id, 'id': made.id, 'milestone_id': milestone.id}


SAMPLES = [project]
