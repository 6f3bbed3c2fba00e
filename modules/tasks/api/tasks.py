"""REST API of tasks: create, list, read, change, move and delete, the board, blockers and watching (under /api/v1)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Response

from appliance.api.deps import DB, MAX_ID, Actor, Id, IsoDate, PageParams, Router
from modules.tasks import services
from modules.tasks.api.models import (
    BoardOut,
    CardOut,
    DependencyIn,
    MoveIn,
    MyTasksOut,
    TaskCreate,
    TaskOut,
    TaskPage,
    TaskPatch,
)
from modules.tasks.api.query import PriorityFilter, TaskQuery

router = Router(prefix='/api/v1', tags=['tasks'])


Text = Annotated[str, Query(max_length=200)]


def _task_out(session: DB, actor: Actor, task_id: int) -> TaskOut:
    return TaskOut.of_detail(services.get_task(session=session, actor=actor, task_id=task_id))


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
