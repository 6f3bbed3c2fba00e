"""Global search over tasks: Chinese (two characters and one), English, refs, and never an invisible project."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.search import global_search
from modules.projects.models import Project
from modules.tasks import search, services
from tests.modules.conftest import Team, make_project
from tests.modules.tasks.support import run


@pytest.fixture
def web(team: Team) -> Project:
    return make_project(members={team.bob.id: 'manager', team.dave.id: 'member'})


def titles(actor: Any, query: str, limit: int = 20) -> list[str]:
    hits = run(search.search, actor=actor, query=query, limit=limit)
    assert all(hit.module == 'tasks' for hit in hits)
    return [hit.title for hit in hits]


def test_it_finds_a_two_character_chinese_word_newest_first(team: Team, web: Project) -> None:
    run(services.create_task, actor=team.bob, project_id=web.id, title='项目管理 计划')
    run(services.create_task, actor=team.bob, project_id=web.id, title='无关', description='这个项目很重要')
    run(services.create_task, actor=team.bob, project_id=web.id, title='目项 reversed')
    hits = run(search.search, actor=team.dave, query='项目', limit=10)
    assert [h.title for h in hits] == ['WEB-2 无关', 'WEB-1 项目管理 计划']
    assert hits[0].url.startswith('/tasks/') and '项目' in hits[0].snippet


def test_it_finds_a_single_chinese_character_in_titles(team: Team, web: Project) -> None:
    run(services.create_task, actor=team.bob, project_id=web.id, title='修复 登录')
    run(services.create_task, actor=team.bob, project_id=web.id, title='Fix signup')
    assert titles(team.dave, '修') == ['WEB-1 修复 登录']


def test_it_finds_english_words_as_prefixes_and_confirms_phrases(team: Team, web: Project) -> None:
    run(services.create_task, actor=team.bob, project_id=web.id, title='Deploy the website')
    run(services.create_task, actor=team.bob, project_id=web.id, title='Website deploy notes')
    assert titles(team.dave, 'DEPLOY') == ['WEB-2 Website deploy notes', 'WEB-1 Deploy the website']
    assert titles(team.dave, 'deplo') == ['WEB-2 Website deploy notes', 'WEB-1 Deploy the website']
    assert titles(team.dave, 'the website') == ['WEB-1 Deploy the website']


def test_it_finds_a_task_by_its_ref_first(team: Team, web: Project) -> None:
    for n in range(3):
        run(services.create_task, actor=team.bob, project_id=web.id, title=f'Task {n} about web-2')
    assert titles(team.dave, 'web-2')[0] == 'WEB-2 Task 1 about web-2'


def test_it_follows_edits_and_deletes(team: Team, web: Project) -> None:
    task = run(services.create_task, actor=team.bob, project_id=web.id, title='Old name')
    run(services.update_task, actor=team.bob, task_id=task.id, changes={'title': '新名字 banana'})
    assert titles(team.dave, 'old') == [] and titles(team.dave, '名字') == ['WEB-1 新名字 banana']
    run(services.delete_task, actor=team.bob, task_id=task.id)
    assert titles(team.dave, 'banana') == []


def test_it_never_shows_tasks_of_invisible_projects(team: Team, web: Project) -> None:
    public = make_project(key='PUB', name='Public', visibility='org', members={team.bob.id: 'manager'})
    run(services.create_task, actor=team.bob, project_id=web.id, title='机密 secret plan')
    run(services.create_task, actor=team.bob, project_id=public.id, title='公开 secret notice')
    for query in ('secret', '机密', '机', 'WEB-1'):
        assert all(not t.startswith('WEB') for t in titles(team.charlie, query))
    assert titles(team.charlie, 'secret') == ['PUB-1 公开 secret notice']
    assert titles(team.erin, 'secret') == []
    assert {h.title for h in run(global_search, actor=team.alice, query='secret')} >= {
        'WEB-1 机密 secret plan',
        'PUB-1 公开 secret notice',
    }


def test_it_cuts_to_the_limit(team: Team, web: Project) -> None:
    for n in range(8):
        run(services.create_task, actor=team.bob, project_id=web.id, title=f'项目 {n}')
    assert len(titles(team.dave, '项目', limit=3)) == 3


def test_a_snippet_shows_the_words_of_a_description_not_its_markdown(team: Team, web: Project) -> None:
    description = '## 目标\n\n**首页设计稿** 在 [周五](/tasks/1) 前交给 `design` 组评审。\n\n- 第一稿\n- 第二稿'
    run(services.create_task, actor=team.bob, project_id=web.id, title='首页', description=description)
    [hit] = run(search.search, actor=team.dave, query='评审', limit=10)
    assert hit.snippet == '目标 首页设计稿 在 周五 前交给 design 组评审。 第一稿 第二稿'


def test_plain_text_keeps_the_words_of_every_kind_of_markdown() -> None:
    from appliance.markdown import plain_text

    assert plain_text('# Title\n\nSome *emphasis*, **strong**, ~~gone~~ and `code`.') == (
        'Title Some emphasis, strong, gone and code.'
    )
    assert plain_text('![a diagram](/files/1.png) and [a link](https://example.org)') == 'a diagram and a link'
    assert plain_text('```\nprint(1)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |') == 'print(1) a b 1 2'
    assert plain_text('<script>alert(1)</script>') == '<script>alert(1)</script>'  # text, escaped where shown
    assert plain_text('') == '' and plain_text('   \n\n ') == ''
