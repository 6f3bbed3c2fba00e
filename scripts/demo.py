"""`make demo`: a realistic demo organisation in a data dir, for trying the product and for the screenshots.

星河科技 (Xinghe Technology) works in Chinese with a few English-speaking colleagues: seven people, four projects
(one archived) with tasks in every column, overdue and due soon, sub-tasks, checklists, dependencies, milestones,
labels, Markdown descriptions, comments with @mentions, attachments and logged hours. Everything is written through
the services, exactly as the pages would write it (permission checks, activity, notifications, audit, search
index), with dates relative to today so that "due soon" and "overdue" always have something in them.

Refused, with nothing changed, when the data dir's organisation is already set up: a demo never mixes with real
data. The password of every demo account is printed (random unless DEMO_PASSWORD or --password gives one).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from appliance.blobstore import get_blobstore
from appliance.models import User
from appliance.services import accounts, directory
from modules.projects.services import members, milestones, projects
from modules.tasks.models import Status, Task
from modules.tasks.services import attachments, comments, editing, relations, timelog, workflow

ORG_NAME = '星河科技'
ADMIN = 'li.ming'

# username, display name, role, language, time zone
PEOPLE = (
    (ADMIN, '李明', 'admin', 'zh_CN', 'Asia/Shanghai'),
    ('wang.fang', '王芳', 'member', 'zh_CN', 'Asia/Shanghai'),
    ('chen.wei', '陈伟', 'member', 'zh_CN', 'Asia/Shanghai'),
    ('zhang.li', '张丽', 'member', 'zh_CN', 'Asia/Shanghai'),
    ('emma', 'Emma Clarke', 'member', 'en', 'Europe/London'),
    ('raj', 'Raj Patel', 'member', 'en', 'Asia/Kolkata'),
    ('liu.yang', '刘洋', 'member', 'zh_CN', 'Asia/Shanghai'),
)

WEBSITE_BRIEF = """## 目标

新官网在 **1 月 15 日** 上线，替换 2019 年的旧站。

### 范围

1. 首页、产品页、案例页、联系我们
2. 中英文两个版本
3. 移动端优先

### 不在范围内

- 在线商城
- 会员系统

详见 [设计规范](https://intranet.example/design)。
"""

HOMEPAGE_DESIGN = """### 验收标准

- [x] 桌面版首屏
- [ ] 手机版首屏
- [ ] 深色模式

| 区块 | 负责人 | 状态 |
|---|---|---|
| 首屏 | 王芳 | 完成 |
| 案例 | 陈伟 | 进行中 |

颜色用 `#1d4ed8`，字体跟随系统。
"""

APP_BRIEF = """Version 2.0 of the field-service app: **offline mode**, push notifications and a new task list.

### Milestones
1. Beta to 20 field engineers
2. Store release

See the design notes attached to APP-1.
"""

AUDIT_BRIEF = """年度财务审计准备工作。审计师 **12 月 20 日** 进场。

- 凭证整理
- 合同归档
- 固定资产盘点
"""


@dataclass
class Demo:
    """What was made, for the printout and for tests that walk the demo."""

    org_name: str
    password: str
    usernames: list[str]
    project_ids: dict[str, int] = field(default_factory=dict)
    task_ids: dict[str, int] = field(default_factory=dict)
    employee_ids: dict[str, int] = field(default_factory=dict)


def seed(session: Session, *, password: str, today: date | None = None) -> Demo:
    """Set up the organisation and fill it; the session's database must be migrated and not yet set up."""
    today = today or date.today()
    admin_name, admin_display, _, admin_language, admin_zone = PEOPLE[0]
    admin = accounts.complete_setup(
        session=session,
        org_name=ORG_NAME,
        language=admin_language,
        username=admin_name,
        display_name=admin_display,
        email=f'{admin_name}@xinghe.example',
        password=password,
        timezone=admin_zone,
    )
    people = {admin_name: admin}
    for username, display, role, language, zone in PEOPLE[1:]:
        people[username] = accounts.create_user(
            session=session,
            actor=admin,
            username=username,
            display_name=display,
            password=password,
            email=f'{username}@xinghe.example',
            roles=[role],
            language=language,
            timezone=zone,
        )
    demo = Demo(org_name=ORG_NAME, password=password, usernames=list(people))
    _departments(session, people)
    _personnel(session, demo, people)
    _website(session, demo, people, today)
    _app(session, demo, people, today)
    _audit(session, demo, people, today)
    _office_move(session, demo, people, today)
    session.flush()
    return demo


# (name, code, parent code, heads, [(username, position, work phone)])
DEPARTMENTS = (
    ('星河科技', 'XH', '', (ADMIN,), [(ADMIN, '总经理', '010-8888-0001')]),
    (
        '产品研发部',
        'RD',
        'XH',
        ('chen.wei',),
        [('chen.wei', '研发总监', '010-8888-0101'), ('liu.yang', '前端工程师', '')],
    ),
    ('移动组', 'RD-MOB', 'RD', (), [('raj', 'Mobile Engineer', '+91 80 5555 0142')]),
    (
        '市场部',
        'MKT',
        'XH',
        ('wang.fang',),
        [('wang.fang', '市场经理', '010-8888-0201'), ('emma', 'Brand Designer', '')],
    ),
    ('财务部', 'FIN', 'XH', ('zhang.li',), [('zhang.li', '财务主管', '010-8888-0301')]),
)


def _departments(session: Session, people: dict[str, User]) -> None:
    """A small company tree: the directory and org chart have something to show."""
    admin = people[ADMIN]
    ids: dict[str, int] = {}
    for name, code, parent, heads, placed in DEPARTMENTS:
        made = directory.create_department(session, admin, name=name, code=code, parent_id=ids.get(parent))
        ids[code] = made.id
        directory.set_heads(session, admin, made.id, [people[head].id for head in heads])
        for username, position, phone in placed:
            directory.place_user(
                session, admin, people[username].id, main_department_id=made.id, position=position, work_phone=phone
            )


# (username, employee number, legal name, English name, hire date, birth date, region code of the fake ID)
PERSONNEL = (
    (ADMIN, 'XH0001', '李明', 'Li Ming', '2015-03-01', '1980-04-12', '110105'),
    ('wang.fang', 'XH0007', '王芳', 'Fang Wang', '2018-07-16', '1988-11-02', '310115'),
    ('chen.wei', 'XH0012', '陈伟', 'Wei Chen', '2019-02-25', '1986-06-30', '440305'),
    ('zhang.li', 'XH0015', '张丽', 'Li Zhang', '2020-09-01', '1991-01-19', '320106'),
    ('liu.yang', 'XH0031', '刘洋', 'Yang Liu', '2024-03-04', '1998-08-08', '510107'),
)


def fake_resident_id(region: str, birth: str, sequence: int) -> str:
    """A well-formed but invented resident ID number (region, birth date, sequence, check character)."""
    body = f'{region}{birth.replace("-", "")}{sequence:03d}'
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + '10X98765432'[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def _personnel(session: Session, demo: Demo, people: dict[str, User]) -> None:
    """zhang.li keeps HR (she also heads finance); a record for each of the Chinese colleagues, with invented ID
    numbers and cards, so that masks, reveals and the classification show."""
    from modules.people.services import records

    admin = people[ADMIN]
    hr = accounts.update_user(session=session, actor=admin, user_id=people['zhang.li'].id, roles=['member', 'hr'])
    for n, (username, number, name, english, hired, born, region) in enumerate(PERSONNEL, start=1):
        values = {
            'employee_no': number,
            'legal_name': name,
            'english_name': english,
            'work_location': '北京',
            'status': 'active',
            'hire_date': hired,
            'birth_date': born,
            'id_type': 'resident_id',
            'id_number': fake_resident_id(region, born, 100 + n),
            'bank_name': '招商银行',
            'bank_card': f'62258800{n:03d}{4000 + n:08d}',
            'user_id': people[username].id,
        }
        demo.employee_ids[username] = records.save(session, hr, values).id


def _project(
    session: Session,
    demo: Demo,
    people: dict[str, User],
    *,
    key: str,
    name: str,
    description: str,
    team: dict[str, str],
    start: date,
    end: date,
) -> tuple[int, list[Status]]:
    admin = people[ADMIN]
    view = projects.create_project(
        session=session, actor=admin, name=name, key=key, description=description, start_date=start, end_date=end
    )
    for username, role in team.items():
        members.add_member(session=session, actor=admin, project_id=view.id, username=username, role=role)
    demo.project_ids[key] = view.id
    return view.id, workflow.ensure_workflow(session, view.id)


def _task(
    session: Session,
    demo: Demo,
    actor: User,
    project_id: int,
    ref: str,
    title: str,
    *,
    status: Status,
    assignees: list[User] = (),  # type: ignore[assignment]
    due: date | None = None,
    start: date | None = None,
    priority: str = 'normal',
    description: str = '',
    estimate: str | None = None,
    labels: list[int] = (),  # type: ignore[assignment]
    milestone: int | None = None,
    parent: int | None = None,
) -> Task:
    task = editing.create_task(
        session=session,
        actor=actor,
        project_id=project_id,
        title=title,
        description=description,
        status_id=status.id,
        priority=priority,
        assignee_ids=[person.id for person in assignees],
        label_ids=list(labels),
        start_date=start,
        due_date=due,
        estimate_hours=estimate,
        parent_id=parent,
        milestone_id=milestone,
    )
    demo.task_ids[ref] = task.id
    return task


def _attach(session: Session, actor: User, task_id: int, filename: str, data: bytes, content_type: str) -> None:
    sha256, size = get_blobstore().write_bytes(data)
    attachments.record_attachment(
        session=session,
        actor=actor,
        task_id=task_id,
        sha256=sha256,
        size=size,
        filename=filename,
        content_type=content_type,
    )


def _website(session: Session, demo: Demo, people: dict[str, User], today: date) -> None:
    admin, wang, chen, zhang, emma = (people[n] for n in (ADMIN, 'wang.fang', 'chen.wei', 'zhang.li', 'emma'))
    pid, (todo, doing, done) = _project(
        session,
        demo,
        people,
        key='WEB',
        name='官网改版',
        description=WEBSITE_BRIEF,
        team={'wang.fang': 'manager', 'chen.wei': 'member', 'zhang.li': 'member', 'emma': 'member', 'raj': 'viewer'},
        start=today - timedelta(days=40),
        end=today + timedelta(days=38),
    )
    review = workflow.add_status(session=session, actor=admin, project_id=pid, name='评审')
    workflow.reorder_statuses(
        session=session, actor=admin, project_id=pid, status_ids=[todo.id, doing.id, review.id, done.id]
    )
    design = workflow.create_label(session=session, actor=admin, project_id=pid, name='设计', color='#7c3aed').id
    front = workflow.create_label(session=session, actor=admin, project_id=pid, name='前端', color='#0891b2').id
    content = workflow.create_label(session=session, actor=admin, project_id=pid, name='内容', color='#ca8a04').id
    beta = milestones.create_milestone(
        session=session, actor=admin, project_id=pid, name='内测版', due_date=today + timedelta(days=10)
    ).id
    launch = milestones.create_milestone(
        session=session, actor=admin, project_id=pid, name='正式上线', due_date=today + timedelta(days=38)
    ).id

    def task(ref: str, title: str, **kwargs: object) -> Task:
        return _task(session, demo, wang, pid, ref, title, **kwargs)  # type: ignore[arg-type]

    home = task(
        'WEB-1',
        '首页设计稿',
        status=review,
        assignees=[wang, emma],
        due=today - timedelta(days=2),
        start=today - timedelta(days=12),
        priority='high',
        description=HOMEPAGE_DESIGN,
        estimate='16',
        labels=[design],
        milestone=beta,
    )
    task(
        'WEB-2',
        '移动端首页适配',
        status=doing,
        assignees=[chen],
        due=today + timedelta(days=1),
        start=today - timedelta(days=3),
        priority='high',
        labels=[front],
        milestone=beta,
        parent=home.id,
    )
    task(
        'WEB-3',
        '深色模式配色',
        status=todo,
        assignees=[wang],
        due=today + timedelta(days=6),
        labels=[design],
        milestone=launch,
        parent=home.id,
    )
    contact = task(
        'WEB-4',
        '联系我们页面',
        status=doing,
        assignees=[zhang],
        due=today,
        labels=[front, content],
        start=today - timedelta(days=5),
        estimate='6',
        milestone=beta,
    )
    task(
        'WEB-5',
        '客户案例文案（中英文）',
        status=todo,
        assignees=[emma, zhang],
        due=today + timedelta(days=4),
        labels=[content],
        milestone=launch,
        description='Five customer stories, **Chinese first**, then English.',
    )
    seo = task(
        'WEB-6',
        'SEO 检查',
        status=todo,
        assignees=[chen],
        due=today + timedelta(days=12),
        priority='low',
        milestone=launch,
    )
    task('WEB-7', '旧站链接重定向表', status=todo, assignees=[chen], due=today + timedelta(days=20), milestone=launch)
    task('WEB-8', '域名与证书续期', status=done, assignees=[admin], due=today - timedelta(days=9), priority='urgent')
    task('WEB-9', '竞品网站调研', status=done, assignees=[emma], due=today - timedelta(days=25), labels=[design])
    task(
        'WEB-10',
        '性能预算：首屏 < 2 秒',
        status=todo,
        due=today + timedelta(days=30),
        priority='normal',
        labels=[front],
    )
    relations.add_dependency(session=session, actor=wang, blocker_id=contact.id, blocked_id=seo.id)
    for text, ticked in (('桌面版首屏', True), ('手机版首屏', False), ('深色模式', False)):
        item = relations.add_checklist_item(session=session, actor=wang, task_id=home.id, text=text)
        if ticked:
            relations.update_checklist_item(session=session, actor=wang, item_id=item, done=True)
    comments.add_comment(session=session, actor=wang, task_id=home.id, body='@emma 首屏的英文标语请再看一下，谢谢！')
    comments.add_comment(
        session=session,
        actor=emma,
        task_id=home.id,
        body='Looks great. I suggested *"Your work, on your own server"* for the English headline.',
    )
    comments.add_comment(session=session, actor=chen, task_id=contact.id, body='表单的验证码先不做，内网用不到。')
    _attach(session, wang, home.id, '首页设计稿-v3.svg', _svg('首页 v3', '#1d4ed8'), 'image/svg+xml')
    _attach(
        session,
        zhang,
        contact.id,
        '联系方式.csv',
        '部门,电话\n销售部,010-88886666\n客服,400-800-1234\n'.encode(),
        'text/csv',
    )
    for days_ago, person, hours, note in (
        (6, wang, '3', '首屏草图'),
        (4, wang, '2.5', '配色'),
        (3, emma, '1.5', 'Copy review'),
    ):
        timelog.log_time(
            session=session, actor=person, task_id=home.id, day=today - timedelta(days=days_ago), hours=hours, note=note
        )
    timelog.log_time(session=session, actor=zhang, task_id=contact.id, day=today - timedelta(days=1), hours='4')


def _app(session: Session, demo: Demo, people: dict[str, User], today: date) -> None:
    admin, emma, raj, chen, liu = (people[n] for n in (ADMIN, 'emma', 'raj', 'chen.wei', 'liu.yang'))
    pid, (todo, doing, done) = _project(
        session,
        demo,
        people,
        key='APP',
        name='Field app 2.0',
        description=APP_BRIEF,
        team={'emma': 'manager', 'raj': 'member', 'chen.wei': 'member', 'liu.yang': 'member', 'wang.fang': 'viewer'},
        start=today - timedelta(days=60),
        end=today + timedelta(days=75),
    )
    beta = milestones.create_milestone(
        session=session, actor=emma, project_id=pid, name='Beta', due_date=today + timedelta(days=21)
    ).id
    bug = workflow.create_label(session=session, actor=emma, project_id=pid, name='bug', color='#dc2626').id
    feature = workflow.create_label(session=session, actor=emma, project_id=pid, name='feature', color='#16a34a').id

    def task(ref: str, title: str, **kwargs: object) -> Task:
        return _task(session, demo, emma, pid, ref, title, **kwargs)  # type: ignore[arg-type]

    offline = task(
        'APP-1',
        'Offline mode for work orders',
        status=doing,
        assignees=[raj, chen],
        start=today - timedelta(days=14),
        due=today + timedelta(days=9),
        priority='high',
        estimate='40',
        labels=[feature],
        milestone=beta,
        description='Work orders must open and save **without a connection** and sync when back.',
    )
    sync = task(
        'APP-2',
        'Conflict handling when two engineers edit one order',
        status=todo,
        assignees=[raj],
        due=today + timedelta(days=16),
        labels=[feature],
        milestone=beta,
    )
    task(
        'APP-3',
        'Crash on login with an expired session',
        status=doing,
        assignees=[liu],
        priority='urgent',
        due=today - timedelta(days=1),
        labels=[bug],
    )
    task(
        'APP-4',
        'Push notifications (on-premise gateway)',
        status=todo,
        assignees=[chen],
        due=today + timedelta(days=30),
        labels=[feature],
    )
    task(
        'APP-5',
        'Beta sign-up form for field engineers',
        status=done,
        assignees=[emma],
        due=today - timedelta(days=7),
        milestone=beta,
    )
    task('APP-6', '安卓 8 上的字体显示问题', status=todo, assignees=[liu], due=today + timedelta(days=3), labels=[bug])
    relations.add_dependency(session=session, actor=emma, blocker_id=offline.id, blocked_id=sync.id)
    comments.add_comment(
        session=session,
        actor=raj,
        task_id=offline.id,
        body='SQLite on the device, a change log per order. @chen.wei can you take the sync API?',
    )
    comments.add_comment(session=session, actor=chen, task_id=offline.id, body='可以，我周四前给出接口草案。')
    _attach(session, emma, offline.id, 'offline-flow.svg', _svg('Offline flow', '#16a34a'), 'image/svg+xml')
    for days_ago, person, hours in ((5, raj, '6'), (4, raj, '7.5'), (2, chen, '3'), (1, raj, '5')):
        timelog.log_time(
            session=session, actor=person, task_id=offline.id, day=today - timedelta(days=days_ago), hours=hours
        )
    del admin


def _audit(session: Session, demo: Demo, people: dict[str, User], today: date) -> None:
    admin, zhang, liu = (people[n] for n in (ADMIN, 'zhang.li', 'liu.yang'))
    pid, (todo, doing, done) = _project(
        session,
        demo,
        people,
        key='FIN',
        name='年度财务审计',
        description=AUDIT_BRIEF,
        team={'zhang.li': 'manager', 'liu.yang': 'member'},
        start=today - timedelta(days=20),
        end=today + timedelta(days=14),
    )

    def task(ref: str, title: str, **kwargs: object) -> Task:
        return _task(session, demo, zhang, pid, ref, title, **kwargs)  # type: ignore[arg-type]

    vouchers = task(
        'FIN-1',
        '凭证整理（1–11 月）',
        status=doing,
        assignees=[zhang],
        due=today + timedelta(days=5),
        start=today - timedelta(days=10),
        priority='high',
        estimate='24',
    )
    task('FIN-2', '合同归档', status=todo, assignees=[liu], due=today + timedelta(days=8))
    task('FIN-3', '固定资产盘点', status=todo, assignees=[liu, zhang], due=today + timedelta(days=11))
    task('FIN-4', '银行对账单', status=done, assignees=[zhang], due=today - timedelta(days=4))
    comments.add_comment(session=session, actor=zhang, task_id=vouchers.id, body='@liu.yang 10 月的差旅凭证还缺三张。')
    timelog.log_time(session=session, actor=zhang, task_id=vouchers.id, day=today - timedelta(days=2), hours='5')
    del admin


def _office_move(session: Session, demo: Demo, people: dict[str, User], today: date) -> None:
    admin = people[ADMIN]
    pid, (todo, doing, done) = _project(
        session,
        demo,
        people,
        key='OPS',
        name='Office move 2026',
        description='Moving to the new floor. Finished in October.',
        team={'raj': 'member'},
        start=today - timedelta(days=150),
        end=today - timedelta(days=60),
    )
    for ref, title in (('OPS-1', 'Network cabling'), ('OPS-2', 'Desk plan'), ('OPS-3', 'Movers booked')):
        _task(session, demo, admin, pid, ref, title, status=done, due=today - timedelta(days=70))
    projects.archive_project(session=session, actor=admin, project_id=pid)
    del todo, doing


def _svg(text: str, colour: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="270">'
        f'<rect width="480" height="270" fill="{colour}"/>'
        f'<text x="240" y="145" font-size="36" fill="#fff" text-anchor="middle">{text}</text></svg>'
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--password', default=os.environ.get('DEMO_PASSWORD', ''), help='for every demo account')
    args = parser.parse_args()
    password = args.password or f'Demo-{secrets.token_urlsafe(9)}'
    enclave = Path(sys.executable).with_name('enclave')
    subprocess.run([str(enclave), 'migrate'], check=True)  # noqa: S603 - our own command
    from appliance.operator import operator_session

    try:
        with operator_session() as session:
            if not accounts.setup_required(session):
                sys.exit(
                    'This data dir already has an organisation: the demo goes only into a new one. '
                    'Choose another, e.g. make demo ENCLAVE_DATA_DIR=$PWD/var/demo'
                )
            demo = seed(session, password=password)
    except typer.Exit as stop:  # operator_session said why on stderr
        sys.exit(stop.exit_code)
    print(f'The demo organisation {demo.org_name} is ready in {os.environ.get("ENCLAVE_DATA_DIR", "the data dir")}.')
    print(f'Sign in as {ADMIN} (administrator) or any of {", ".join(demo.usernames[1:])}; password: {password}')


if __name__ == '__main__':
    main()
