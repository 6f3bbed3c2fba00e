"""The query parameters of a task list, shared by GET /api/v1/tasks and the CSV export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from sqlalchemy.orm import Session

from appliance.api.deps import MAX_ID, IsoDate
from appliance.models import User
from modules.tasks.services import resolve_refs
from modules.tasks.views import TaskFilter

PriorityFilter = Literal['', 'low', 'normal', 'high', 'urgent']
Sort = Literal['position', 'due', 'priority', 'created', 'updated', 'title', 'ref']


class TaskQuery:
    """Filters and order of a task list, as query parameters (use as `Annotated[TaskQuery, Depends()]`)."""

    def __init__(
        self,
        project_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description='Only this project.')] = None,
        status: Annotated[str, Query(max_length=200, description='Column ids or names, comma-separated.')] = '',
        assignee: Annotated[str, Query(max_length=64, description="A user id, a username, or 'me'.")] = '',
        label: Annotated[str, Query(max_length=64, description='A label id, or a name with project_id.')] = '',
        priority: Annotated[PriorityFilter, Query(description='low, normal, high or urgent.')] = '',
        due_from: Annotated[IsoDate | None, Query(description='Due on or after (YYYY-MM-DD).')] = None,
        due_to: Annotated[IsoDate | None, Query(description='Due on or before (YYYY-MM-DD).')] = None,
        q: Annotated[str, Query(max_length=200, description='Words in the title, description or ref.')] = '',
        open_only: Annotated[bool, Query(description='Leave out tasks in closed columns.')] = False,
        sort: Annotated[Sort, Query(description='The order of the list.')] = 'position',
        desc: Annotated[bool, Query(description='Sort in descending order.')] = False,
    ) -> None:
        self.project_id, self.status, self.assignee, self.label = project_id, status, assignee, label
        self.priority, self.due_from, self.due_to, self.q = priority, due_from, due_to, q
        self.open_only, self.sort, self.desc = open_only, sort, desc

    def filters(self, session: Session, actor: User) -> TaskFilter:
        """The TaskFilter these parameters mean (names of statuses, people and labels resolved to ids)."""
        status_ids, assignee_id, label_id = resolve_refs(
            session, actor, project_id=self.project_id, status=self.status, assignee=self.assignee, label=self.label
        )
        return TaskFilter(
            project_id=self.project_id,
            status_ids=status_ids,
            assignee_id=assignee_id,
            label_id=label_id,
            priority=self.priority or None,
            due_from=self.due_from,
            due_to=self.due_to,
            text=self.q,
            open_only=self.open_only,
            sort=self.sort,
            descending=self.desc,
        )
