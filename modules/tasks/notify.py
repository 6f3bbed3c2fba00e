"""Who hears about what: the tasks module's notifications (in the app, and by e-mail when the admin enables it)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from appliance.errors import N_
from appliance.models import User
from appliance.services.notifications import notify
from modules.projects.models import Project
from modules.tasks.access import task_ref, task_url
from modules.tasks.models import Task


def assigned(session: Session, *, actor: User, project: Project, task: Task, user_ids: Iterable[int]) -> None:
    """Tell newly assigned people (not the actor) that a task is theirs."""
    notify(
        session,
        user_ids=user_ids,
        module='tasks',
        kind='assigned',
        title=f'{task_ref(project, task)} {task.title}',
        body=N_('assigned to you'),
        url=task_url(task.id),
        actor=actor,
    )
