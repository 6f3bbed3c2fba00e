"""A seeded data set for the benchmarks: 100k tasks over 200 projects, one project with 2,000 tasks.

Written with bulk Core inserts straight into a migrated database (the services would take minutes); the search
index is filled through `appliance.search_index.index_many`, as the CSV import does. Deterministic (seeded RNG).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from appliance import search_index
from appliance.models import User, UserRole
from modules.projects.models import Member, Project
from modules.tasks.models import DEFAULT_WORKFLOW, Assignee, Status, Task

ZH = (
    '项目 计划 需求 设计 开发 测试 发布 文档 会议 客户 合同 预算 采购 培训 招聘 服务器 数据库 备份 网络 安全 '
    '登录 页面 报表 审批 流程 财务 仓库 物流 销售 市场 支持 升级 迁移 监控 日志 接口 移动端 权限 性能 优化'
).split()
EN = (
    'project plan requirement design develop test release document meeting customer contract budget purchase '
    'training hiring server database backup network security login page report approval workflow finance '
    'warehouse logistics sales marketing support upgrade migration monitoring logging api mobile permission '
    'performance invoice dashboard onboarding'
).split()
PRIORITIES = ('low', 'normal', 'normal', 'normal', 'high', 'urgent')


@dataclass(frozen=True)
class Seeded:
    """What the benchmarks need to know about the data."""

    big_project_id: int
    big_project_key: str
    reader_id: int
    reader_username: str
    tasks: int
    projects: int
    big: int


def phrase(rng: random.Random, words: int) -> str:
    """A title-like phrase: Chinese or English words, sometimes mixed."""
    if rng.random() < 0.5:
        return ''.join(rng.choice(ZH) for _ in range(words))
    if rng.random() < 0.8:
        return ' '.join(rng.choice(EN) for _ in range(words)).capitalize()
    return rng.choice(ZH) + ' ' + ' '.join(rng.choice(EN) for _ in range(words - 1))


def seed(session: Session, *, tasks: int = 100_000, projects: int = 200, big: int = 2_000, users: int = 60) -> Seeded:
    """Fill an empty, migrated database. The reader (`reader`, a member) belongs to 20 projects, the big one too."""
    rng = random.Random(20261129)
    session.execute(
        insert(User),
        [
            {
                'username': f'user{i}' if i else 'reader',
                'display_name': f'User {i} {rng.choice(ZH)}',
                'password_hash': 'x',
                'email': '',
                'language': 'en',
            }
            for i in range(users)
        ],
    )
    user_ids = list(session.scalars(select(User.id).order_by(User.id)))
    session.execute(insert(UserRole), [{'user_id': uid, 'role': 'member'} for uid in user_ids])
    reader = user_ids[0]
    session.execute(
        insert(Project),
        [
            {
                'key': f'P{i:03d}' if i else 'BIG',
                'name': phrase(rng, 2),
                'description': phrase(rng, 8),
                'visibility': 'org' if i % 10 == 5 else 'members',
                'owner_id': user_ids[i % users],
            }
            for i in range(projects)
        ],
    )
    project_ids = list(session.scalars(select(Project.id).order_by(Project.id)))
    members = []
    for index, pid in enumerate(project_ids):
        chosen = set(rng.sample(user_ids[1:], 8))
        if index < 20:
            chosen.add(reader)
        members.extend({'project_id': pid, 'user_id': uid, 'role': 'member'} for uid in chosen)
    session.execute(insert(Member), members)
    session.execute(
        insert(Status),
        [
            {'project_id': pid, 'name': name, 'is_closed': closed, 'position': pos}
            for pid in project_ids
            for pos, (name, closed) in enumerate(DEFAULT_WORKFLOW)
        ],
    )
    statuses: dict[int, list[int]] = {}
    for sid, pid in session.execute(select(Status.id, Status.project_id).order_by(Status.position)):
        statuses.setdefault(pid, []).append(sid)
    member_of: dict[int, list[int]] = {}
    for row in members:
        member_of.setdefault(row['project_id'], []).append(row['user_id'])

    counts = [big] + [0] * (projects - 1)
    for i in range(tasks - big):
        counts[1 + i % (projects - 1)] += 1
    today = date(2026, 11, 29)
    batch: list[dict[str, object]] = []
    texts: list[tuple[str, str]] = []
    for pid, count in zip(project_ids, counts, strict=True):
        for number in range(1, count + 1):
            status_id = rng.choice(statuses[pid])
            due = today + timedelta(days=rng.randint(-30, 90)) if rng.random() < 0.7 else None
            title = phrase(rng, rng.randint(2, 5))
            description = phrase(rng, rng.randint(5, 20))
            batch.append(
                {
                    'project_id': pid,
                    'number': number,
                    'status_id': status_id,
                    'position': number * 1024,
                    'title': title,
                    'description': description,
                    'priority': rng.choice(PRIORITIES),
                    'due_date': due,
                    'start_date': due - timedelta(days=rng.randint(1, 14)) if due else None,
                }
            )
            texts.append((title, description))
    for start in range(0, len(batch), 5_000):
        session.execute(insert(Task), batch[start : start + 5_000])
    rows = session.execute(select(Task.id, Task.project_id, Task.title, Task.description).order_by(Task.id)).all()
    keys = dict(session.execute(select(Project.id, Project.key)).tuples().all())
    numbers = dict(session.execute(select(Task.id, Task.number)).tuples().all())
    search_index.index_many(
        session, 'task', ((tid, (title, desc, f'{keys[pid]}-{numbers[tid]}')) for tid, pid, title, desc in rows)
    )
    assignees = []
    for tid, pid, _title, _desc in rows:
        for uid in rng.sample(member_of[pid], rng.choice((1, 1, 1, 2))):
            assignees.append({'task_id': tid, 'user_id': uid})
    for start in range(0, len(assignees), 10_000):
        session.execute(insert(Assignee), assignees[start : start + 10_000])
    return Seeded(
        big_project_id=project_ids[0],
        big_project_key='BIG',
        reader_id=reader,
        reader_username='reader',
        tasks=tasks,
        projects=projects,
        big=big,
    )
