"""The tasks module's samples for the contract test: a task in alice's project with a comment, time logged, an
attachment, a checklist item, a label and a status; a second task to depend on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from appliance.blobstore import get_blobstore
from appliance.db import get_database
from modules.projects.models import Project
from modules.tasks.models import Attachment, ChecklistItem, Comment, Label, Status, TimeEntry
from tests.conftest import People
from tests.modules.conftest import make_task
from tests.support.contract import SECRET


def task(people: People, found: Mapping[str, Any]) -> dict[str, Any]:
    """{task_id} and what hangs off it: {comment_id}, {entry_id}, {attachment_id}, {item_id}, {label_id},
    {status_id}; {blocker_id}: another task, {move_to_id}: another status, ?filename=: an upload's name."""
    with get_database().session() as session:
        project = session.get(Project, found['project_id'])
        assert project is not None
        session.expunge(project)
    made = make_task(project=project, title=SECRET, reporter=people.alice)
    other = make_task(project=project, title=f'{SECRET} 2', reporter=people.alice)
    store = get_blobstore()
    with get_database().session() as session:
        sha256 = store.write_bytes(SECRET.encode())[0]
        store.add_ref(session=session, sha256=sha256, owner='tasks.attachment', owner_id=str(made.id))
        rows = {
            'comment_id': Comment(task_id=made.id, author_id=people.alice.id, body=SECRET),
            'entry_id': TimeEntry(task_id=made.id, user_id=people.alice.id, day=date(2026, 1, 5), hours=Decimal(1)),
            'attachment_id': Attachment(
                task_id=made.id, sha256=sha256, filename=f'{SECRET}.txt', size=len(SECRET), uploaded_by=people.alice.id
            ),
            'item_id': ChecklistItem(task_id=made.id, text=SECRET),
            'label_id': Label(project_id=project.id, name='zebra'),
        }
        session.add_all(rows.values())
        session.flush()
        status, other_status = session.scalars(select(Status.id).where(Status.project_id == project.id)).all()[:2]
        upload = {'filename': f'{SECRET}.txt', 'move_to_id': other_status}
        return (
            upload
            | {'task_id': made.id, 'blocker_id': other.id, 'status_id': status}
            | {key: row.id for key, row in rows.items()}
        )


SAMPLES = [task]
