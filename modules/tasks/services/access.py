"""Task-level access: a task is as visible and as writable as its project (see modules/projects/access.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from appliance.errors import N_, NotFound
from appliance.models import User
from appliance.services.permissions import require
from modules.projects.models import Project
from modules.projects.services import require_project
from modules.tasks.models import Task


def require_task(session: Session, actor: User, task_id: int, need: str = 'viewer') -> tuple[Task, Project]:
    """The task and its project, if the actor's project role is at least `need`; NotFound for invisible tasks."""
    require(actor, 'tasks.use', target=f'task:{task_id}')
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(N_('This task does not exist, or you cannot see its project.'))
    try:
        project = require_project(session, actor, task.project_id, need)
    except NotFound:
        raise NotFound(N_('This task does not exist, or you cannot see its project.')) from None
    return task, project


def task_ref(project: Project, task: Task) -> str:
    """The task's id as people say it: KEY-number (WEB-42)."""
    return f'{project.key}-{task.number}'


def task_url(task_id: int) -> str:
    """Where the task's page is."""
    return f'/tasks/{task_id}'
