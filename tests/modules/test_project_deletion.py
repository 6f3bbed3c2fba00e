"""Deleting a project removes what the database cascade cannot reach: search entries and file references."""

from __future__ import annotations

from sqlalchemy import func, select

from appliance.blobstore import get_blobstore
from appliance.db import get_database
from appliance.models import BlobRef, SearchTerms, User
from modules.projects import services as projects
from modules.tasks import services
from modules.tasks.models import Task
from modules.tasks.services import comments
from modules.tasks.services.attachments import BLOB_OWNER, record_attachment
from tests.modules.conftest import Team


def _count(model: type, *where: object) -> int:
    with get_database().session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_it_forgets_search_entries_and_file_references_of_a_deleted_project(team: Team) -> None:
    with get_database().session() as session:
        bob = session.get(User, team.bob.id)
        assert bob is not None
        project = projects.create_project(session=session, actor=bob, name='旧项目', key='OLD')
        task = services.create_task(session=session, actor=bob, project_id=project.id, title='归档资料 files')
        comments.add_comment(session=session, actor=bob, task_id=task.id, body='见附件 attached')
        sha, size = get_blobstore().write_bytes(b'old minutes')
        record_attachment(
            session=session,
            actor=bob,
            task_id=task.id,
            sha256=sha,
            size=size,
            filename='minutes.txt',
            content_type='text/plain',
        )
        project_id, task_id = project.id, task.id
    assert _count(SearchTerms, SearchTerms.kind.in_(('task', 'comment'))) == 2
    assert _count(BlobRef, BlobRef.owner == BLOB_OWNER) == 1

    with get_database().session() as session:
        bob = session.get(User, team.bob.id)
        assert bob is not None
        projects.archive_project(session=session, actor=bob, project_id=project_id)
    with get_database().session() as session:
        bob = session.get(User, team.bob.id)
        assert bob is not None
        projects.delete_project(session=session, actor=bob, project_id=project_id, confirm_key='OLD')

    assert _count(Task, Task.id == task_id) == 0
    assert _count(SearchTerms, SearchTerms.kind.in_(('task', 'comment'))) == 0
    assert _count(BlobRef, BlobRef.owner == BLOB_OWNER) == 0
    with get_database().session() as session:
        assert get_blobstore().ref_count(session=session, sha256=sha) == 0
