"""REST API for tasks, statuses, labels, dependencies, checklists and watching (under /api/v1).

Routes are thin: they call modules.tasks.services, so the permission rules are the UI's. A task or project the
caller may not see answers 404, as if it did not exist. Comments, time, files, iCal and CSV: api_collab.py.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from appliance.api.deps import DB, MAX_ID, Actor, Id, IsoDate, PageParams
from modules.tasks import services
from modules.tasks.api.models import (
    BoardOut,
    CardOut,
    ChecklistIn,
    ChecklistOut,
    ChecklistPatch,
    DependencyIn,
    LabelCreate,
    LabelOut,
    LabelPatch,
    MoveIn,
    MyTasksOut,
    StatusCreate,
    StatusOrder,
    StatusOut,
    StatusPatch,
    TaskCreate,
    TaskOut,
    TaskPage,
    TaskPatch,
)
from modules.tasks.api.query import PriorityFilter, TaskQuery
from modules.tasks.services import checklist_item, status_view
from modules.tasks.views import LabelView, StatusView

router = APIRouter(prefix='/api/v1', tags=['tasks'])

Text = Annotated[str, Query(max_length=200)]


class StatusList(BaseModel):
    """A project's columns in board order."""

    items: list[StatusOut]


class LabelList(BaseModel):
    """A project's labels by name."""

    items: list[LabelOut]


def _task_out(session: DB, actor: Actor, task_id: int) -> TaskOut:
    return TaskOut.of_detail(services.get_task(session=session, actor=actor, task_id=task_id))


# --- tasks ------------------------------------------------------------------------------------------------------


@router.post('/tasks', response_model=TaskOut, status_code=201, summary='Create a task (project members)')
def create_task(body: TaskCreate, session: DB, actor: Actor) -> Any:
    """Create a task at the bottom of its column; the answer has its `id` and `ref` (KEY-number)."""
    task = services.create_task(session=session, actor=actor, **body.model_dump())
    return _task_out(session, actor, task.id)


@router.get('/tasks', response_model=TaskPage, summary='List tasks the caller may see')
def list_tasks(session: DB, actor: Actor, paging: PageParams, query: Annotated[TaskQuery, Depends()]) -> Any:
    """Tasks matching every filter given, one page, with the total that matched."""
    filters = query.filters(session, actor)
    page = services.list_tasks(session=session, actor=actor, filters=filters, offset=paging.offset, limit=paging.limit)
    return TaskPage(items=[CardOut.of(c) for c in page.items], total=page.total, offset=page.offset, limit=page.limit)


@router.get('/tasks/mine', response_model=MyTasksOut, summary="The caller's open assigned tasks")
def my_tasks(
    session: DB, actor: Actor, today: Annotated[IsoDate | None, Query(description='Default: the server date.')] = None
) -> Any:
    """Open tasks assigned to the caller: overdue, today, the next 7 days, later, undated."""
    buckets = services.my_tasks(session=session, actor=actor, today=today or date.today())
    return MyTasksOut(**{name: [CardOut.of(c) for c in cards] for name, cards in buckets.items()})


@router.get('/tasks/{task_id}', response_model=TaskOut, summary='One task')
def get_task(task_id: Id, session: DB, actor: Actor) -> Any:
    """The task with its links, checklist and watchers."""
    return _task_out(session, actor, task_id)


@router.patch('/tasks/{task_id}', response_model=TaskOut, summary='Change a task (project members)')
def patch_task(task_id: Id, body: TaskPatch, session: DB, actor: Actor) -> Any:
    """Change the fields sent; null clears an optional field."""
    services.update_task(session=session, actor=actor, task_id=task_id, changes=body.model_dump(exclude_unset=True))
    return _task_out(session, actor, task_id)


@router.delete('/tasks/{task_id}', status_code=204, summary='Delete a task (project members)')
def delete_task(task_id: Id, session: DB, actor: Actor) -> Response:
    """Delete the task with its comments, time and files; subtasks lose their parent (audited)."""
    services.delete_task(session=session, actor=actor, task_id=task_id)
    return Response(status_code=204)


@router.post('/tasks/{task_id}/move', response_model=TaskOut, summary='Move a card on the board')
def move_task(task_id: Id, body: MoveIn, session: DB, actor: Actor) -> Any:
    """Put the task in `status_id`, right after `after_id` (null: at the top of the column)."""
    services.move_task(session=session, actor=actor, task_id=task_id, status_id=body.status_id, after_id=body.after_id)
    return _task_out(session, actor, task_id)


@router.get('/projects/{project_id}/board', response_model=BoardOut, summary="A project's board")
def board(
    project_id: Id,
    session: DB,
    actor: Actor,
    per_column: Annotated[int, Query(ge=1, le=200, description='Cards per column.')] = 50,
    assignee: Annotated[str, Query(max_length=64, description="A user id, a username, or 'me'.")] = '',
    label: Annotated[str, Query(max_length=64, description='A label id or name.')] = '',
    priority: Annotated[PriorityFilter, Query(description='low, normal, high or urgent.')] = '',
    q: Text = '',
) -> Any:
    """Every column with its first `per_column` cards in board order and how many cards it holds."""
    query = TaskQuery(project_id=project_id, assignee=assignee, label=label, priority=priority, q=q)
    filters = query.filters(session, actor)
    result = services.board(session=session, actor=actor, project_id=project_id, filters=filters, per_column=per_column)
    return BoardOut.of(result)


# --- workflow and labels ----------------------------------------------------------------------------------------


@router.get('/projects/{project_id}/statuses', response_model=StatusList, summary="A project's columns")
def list_statuses(project_id: Id, session: DB, actor: Actor) -> Any:
    """The workflow in board order."""
    views = services.list_statuses(session=session, actor=actor, project_id=project_id)
    return StatusList(items=[StatusOut.of(v) for v in views])


@router.post(
    '/projects/{project_id}/statuses', response_model=StatusOut, status_code=201, summary='Add a column (managers)'
)
def add_status(project_id: Id, body: StatusCreate, session: DB, actor: Actor) -> Any:
    """A new column at the end of the board."""
    status = services.add_status(
        session=session, actor=actor, project_id=project_id, name=body.name, is_closed=body.is_closed
    )
    return StatusOut.of(status_view(status))


@router.put('/projects/{project_id}/statuses/order', response_model=StatusList, summary='Reorder columns (managers)')
def reorder_statuses(project_id: Id, body: StatusOrder, session: DB, actor: Actor) -> Any:
    """Put the columns in the order given (every column once)."""
    services.reorder_statuses(session=session, actor=actor, project_id=project_id, status_ids=body.status_ids)
    return list_statuses(project_id, session, actor)


@router.patch('/statuses/{status_id}', response_model=StatusOut, summary='Change a column (managers)')
def patch_status(status_id: Id, body: StatusPatch, session: DB, actor: Actor) -> Any:
    """Rename it, or change whether its tasks count as finished."""
    status = services.update_status(
        session=session, actor=actor, status_id=status_id, name=body.name, is_closed=body.is_closed
    )
    return StatusOut.of(StatusView(status.id, status.name, status.is_closed, status.position))


@router.delete('/statuses/{status_id}', status_code=204, summary='Delete a column (managers)')
def delete_status(
    status_id: Id,
    session: DB,
    actor: Actor,
    move_to_id: Annotated[int, Query(ge=1, le=MAX_ID, description="The column that takes this column's tasks.")],
) -> Response:
    """Delete the column after moving its tasks to another one."""
    services.delete_status(session=session, actor=actor, status_id=status_id, move_to_id=move_to_id)
    return Response(status_code=204)


@router.get('/projects/{project_id}/labels', response_model=LabelList, summary="A project's labels")
def list_labels(project_id: Id, session: DB, actor: Actor) -> Any:
    """Labels by name."""
    views = services.list_labels(session=session, actor=actor, project_id=project_id)
    return LabelList(items=[LabelOut.of(v) for v in views])


@router.post('/projects/{project_id}/labels', response_model=LabelOut, status_code=201, summary='Create a label')
def create_label(project_id: Id, body: LabelCreate, session: DB, actor: Actor) -> Any:
    """A new label (project members)."""
    label = services.create_label(session=session, actor=actor, project_id=project_id, name=body.name, color=body.color)
    return LabelOut.of(LabelView(label.id, label.name, label.color))


@router.patch('/labels/{label_id}', response_model=LabelOut, summary='Rename or recolour a label (managers)')
def patch_label(label_id: Id, body: LabelPatch, session: DB, actor: Actor) -> Any:
    """Change the name or the colour; the tasks that have the label keep it."""
    label = services.update_label(session=session, actor=actor, label_id=label_id, name=body.name, color=body.color)
    return LabelOut.of(LabelView(label.id, label.name, label.color))


@router.delete('/labels/{label_id}', status_code=204, summary='Delete a label (managers)')
def delete_label(label_id: Id, session: DB, actor: Actor) -> Response:
    """Remove the label from the project and its tasks."""
    services.delete_label(session=session, actor=actor, label_id=label_id)
    return Response(status_code=204)


# --- dependencies, checklist, watching --------------------------------------------------------------------------


@router.post('/tasks/{task_id}/dependencies', response_model=TaskOut, status_code=201, summary='Add a blocker')
def add_dependency(task_id: Id, body: DependencyIn, session: DB, actor: Actor) -> Any:
    """Task `blocker_id` must finish before this one starts (same project; no loops)."""
    services.add_dependency(session=session, actor=actor, blocker_id=body.blocker_id, blocked_id=task_id)
    return _task_out(session, actor, task_id)


@router.delete('/tasks/{task_id}/dependencies', status_code=204, summary='Remove a blocker')
def remove_dependency(
    task_id: Id,
    session: DB,
    actor: Actor,
    blocker_id: Annotated[int, Query(ge=1, le=MAX_ID, description='The blocking task.')],
) -> Response:
    """This task no longer waits for `blocker_id`."""
    services.remove_dependency(session=session, actor=actor, blocker_id=blocker_id, blocked_id=task_id)
    return Response(status_code=204)


@router.post('/tasks/{task_id}/checklist', response_model=ChecklistOut, status_code=201, summary='Add a checklist line')
def add_checklist_item(task_id: Id, body: ChecklistIn, session: DB, actor: Actor) -> Any:
    """Append a line to the task's checklist."""
    item_id = services.add_checklist_item(session=session, actor=actor, task_id=task_id, text=body.text)
    return ChecklistOut.of(checklist_item(session=session, actor=actor, item_id=item_id))


@router.patch('/checklist/{item_id}', response_model=ChecklistOut, summary='Edit or tick a checklist line')
def patch_checklist_item(item_id: Id, body: ChecklistPatch, session: DB, actor: Actor) -> Any:
    """Change the text or the tick."""
    services.update_checklist_item(session=session, actor=actor, item_id=item_id, text=body.text, done=body.done)
    return ChecklistOut.of(checklist_item(session=session, actor=actor, item_id=item_id))


@router.delete('/checklist/{item_id}', status_code=204, summary='Remove a checklist line')
def delete_checklist_item(item_id: Id, session: DB, actor: Actor) -> Response:
    """Remove the line."""
    services.delete_checklist_item(session=session, actor=actor, item_id=item_id)
    return Response(status_code=204)


@router.put('/tasks/{task_id}/watch', status_code=204, summary='Watch a task')
def watch(task_id: Id, session: DB, actor: Actor) -> Response:
    """Hear about comments and changes on the task."""
    services.set_watching(session=session, actor=actor, task_id=task_id, watching=True)
    return Response(status_code=204)


@router.delete('/tasks/{task_id}/watch', status_code=204, summary='Stop watching a task')
def unwatch(task_id: Id, session: DB, actor: Actor) -> Response:
    """Stop hearing about the task."""
    services.set_watching(session=session, actor=actor, task_id=task_id, watching=False)
    return Response(status_code=204)
