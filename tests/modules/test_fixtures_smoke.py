"""The module fixtures themselves work (a project with the default workflow, a task at the bottom)."""

from __future__ import annotations

from tests.modules.conftest import Team, make_project, make_task, statuses_of


def test_it_makes_a_project_with_the_default_workflow(team: Team) -> None:
    project = make_project(owner=team.bob, members={team.bob.id: 'manager'})
    assert [(s.name, s.is_closed) for s in statuses_of(project.id)] == [
        ('To do', False),
        ('In progress', False),
        ('Done', True),
    ]
    first, second = make_task(project=project), make_task(project=project, title='Second')
    assert (first.number, second.number) == (1, 2)
    assert second.position > first.position
