"""The company directory: departments as a tree, where each person sits in it, and who their manager is.

The core keeps it because every module leans on it: the network disk's department spaces and quotas, projects that
add a whole department, personnel records. Modules ask it through the functions marked *core point*:
`members_of(session, department_id)` (with sub-departments) and `manager_of(session, user_id)`.

What it shows to every member is public by design: a name, the departments, the position, a work phone and a work
e-mail. Nothing private lives here (personnel records keep that, under their own rules).

Departments are never deleted: a merged or closed one keeps its row (closed, and for a merge the department it went
into), and every change to the tree is a dated event in `core_department_events` as well as in the audit log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from appliance.db import utcnow
from appliance.errors import N_, Conflict, NotFound, ValidationError
from appliance.models import Department, DepartmentEvent, DepartmentHead, DepartmentMember, User
from appliance.search import like_pattern
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.paging import Page
from appliance.services.permissions import require

NAME_MAX = 100
CODE_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$')
POSITION_MAX = 100
PHONE_RE = re.compile(r'^[0-9+()\-. /#*]{3,40}$')
OTHER_DEPARTMENTS_MAX = 10
DEPTH_MAX = 15

MANAGE = 'core.manage_users'
READ = 'core.directory'


# Reading the tree.


@dataclass
class DepartmentNode:
    """A department as the tree shows it: its heads, its direct members and everyone under it."""

    id: int
    name: str
    code: str
    parent_id: int | None
    order: int
    heads: list[tuple[int, str]] = field(default_factory=list)
    members: int = 0
    total: int = 0
    children: list[DepartmentNode] = field(default_factory=list)

    def walk(self) -> Iterable[DepartmentNode]:
        """This node and every node under it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def _open_departments(session: Session) -> list[Department]:
    stmt = select(Department).where(Department.closed_at.is_(None)).order_by(Department.sort_order, Department.name)
    return list(session.scalars(stmt))


def _children_map(departments: Sequence[Department]) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for department in departments:
        children.setdefault(department.parent_id, []).append(department.id)
    return children


def _below(children: dict[int | None, list[int]], root: int) -> list[int]:
    """`root` and every department under it (the map holds open departments only)."""
    found, stack = [], [root]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, ()))
    return found


def tree(session: Session, actor: Actor) -> list[DepartmentNode]:
    """The open departments as a forest (roots in their order), with heads and head counts of active accounts."""
    require(actor, READ, target='departments')
    departments = _open_departments(session)
    nodes = {
        d.id: DepartmentNode(id=d.id, name=d.name, code=d.code or '', parent_id=d.parent_id, order=d.sort_order)
        for d in departments
    }
    heads = session.execute(
        select(DepartmentHead.department_id, User.id, User.display_name)
        .join(User, User.id == DepartmentHead.user_id)
        .where(User.is_active)
        .order_by(User.display_name)
    )
    for department_id, user_id, name in heads:
        if department_id in nodes:
            nodes[department_id].heads.append((user_id, name))
    counts = session.execute(
        select(DepartmentMember.department_id, func.count())
        .join(User, User.id == DepartmentMember.user_id)
        .where(User.is_active)
        .group_by(DepartmentMember.department_id)
    )
    for department_id, count in counts:
        if department_id in nodes:
            nodes[department_id].members = count
    roots: list[DepartmentNode] = []
    for node in nodes.values():  # already in order: children keep it
        parent = nodes.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent else roots).append(node)
    for root in roots:
        _count_totals(session, root, nodes)
    return roots


def _count_totals(session: Session, root: DepartmentNode, nodes: dict[int, DepartmentNode]) -> None:
    # Someone in two departments of one branch counts once in it: totals are distinct people.
    placements = session.execute(
        select(DepartmentMember.department_id, DepartmentMember.user_id)
        .join(User, User.id == DepartmentMember.user_id)
        .where(User.is_active)
    ).all()
    by_department: dict[int, set[int]] = {}
    for department_id, user_id in placements:
        by_department.setdefault(department_id, set()).add(user_id)

    def total(node: DepartmentNode) -> set[int]:
        people = set(by_department.get(node.id, ()))
        for child in node.children:
            people |= total(child)
        node.total = len(people)
        return people

    total(root)


def get_department(session: Session, actor: Actor, department_id: int) -> Department:
    """One department (open or closed)."""
    require(actor, READ, target=f'department#{department_id}')
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound(N_('No such department.'))
    return department


def path_of(session: Session, department_id: int) -> list[Department]:
    """The department and its parents, from the top."""
    path: list[Department] = []
    current = session.get(Department, department_id)
    while current is not None and len(path) <= DEPTH_MAX + 1:
        path.insert(0, current)
        current = session.get(Department, current.parent_id) if current.parent_id is not None else None
    return path


def history(session: Session, actor: Actor, department_id: int, *, limit: int = 100) -> list[DepartmentEvent]:
    """What happened to a department, newest first."""
    require(actor, READ, target=f'department#{department_id}')
    stmt = (
        select(DepartmentEvent)
        .where(DepartmentEvent.department_id == department_id)
        .order_by(DepartmentEvent.at.desc(), DepartmentEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


# Core points for modules.


def members_of(
    session: Session, department_id: int, *, with_subdepartments: bool = True, active_only: bool = True
) -> list[int]:
    """*Core point.* The ids of the people in a department (and, by default, in every department under it)."""
    departments = [department_id]
    if with_subdepartments:
        departments = _below(_children_map(_open_departments(session)), department_id)
    stmt = select(DepartmentMember.user_id).where(DepartmentMember.department_id.in_(departments)).distinct()
    if active_only:
        stmt = stmt.join(User, User.id == DepartmentMember.user_id).where(User.is_active)
    return sorted(session.scalars(stmt))


def departments_of(session: Session, user_id: int) -> list[int]:
    """*Core point.* The departments a person is in, the main one first."""
    stmt = (
        select(DepartmentMember.department_id)
        .where(DepartmentMember.user_id == user_id)
        .order_by(DepartmentMember.is_main.desc(), DepartmentMember.department_id)
    )
    return list(session.scalars(stmt))


def main_department_of(session: Session, user_id: int) -> int | None:
    """*Core point.* A person's main department, or None."""
    stmt = select(DepartmentMember.department_id).where(
        DepartmentMember.user_id == user_id, DepartmentMember.is_main.is_(True)
    )
    return session.scalar(stmt)


def manager_of(session: Session, user_id: int) -> int | None:
    """*Core point.* Who a person reports to: the manager set on their account; otherwise a head of their main
    department (the first by name) other than themself, going up the tree while a department has none. Only
    active accounts; None when nobody fits."""
    user = session.get(User, user_id)
    if user is None:
        return None
    if user.manager_id is not None:
        manager = session.get(User, user.manager_id)
        if manager is not None and manager.is_active:
            return manager.id
    department_id = main_department_of(session, user_id)
    seen: set[int] = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        heads = session.scalars(
            select(User.id)
            .join(DepartmentHead, DepartmentHead.user_id == User.id)
            .where(DepartmentHead.department_id == department_id, User.is_active, User.id != user_id)
            .order_by(User.display_name, User.id)
        ).first()
        if heads is not None:
            return heads
        department = session.get(Department, department_id)
        department_id = department.parent_id if department is not None else None
    return None


def reports_of(session: Session, manager_id: int) -> list[int]:
    """*Core point.* The active people whose manager (by `manager_of`) is `manager_id`: direct reports."""
    candidates = set(session.scalars(select(User.id).where(User.manager_id == manager_id, User.is_active)))
    headed = session.scalars(select(DepartmentHead.department_id).where(DepartmentHead.user_id == manager_id))
    for department_id in headed:
        candidates.update(members_of(session, department_id))  # a head also manages those below without one
    candidates.discard(manager_id)
    return sorted(uid for uid in candidates if manager_of(session, uid) == manager_id)


# The colleague directory.


@dataclass(frozen=True)
class Colleague:
    """What every member sees of a colleague."""

    id: int
    username: str
    name: str
    position: str
    work_phone: str
    email: str
    departments: tuple[str, ...]
    manager: str


def colleagues(
    session: Session,
    actor: Actor,
    *,
    query: str = '',
    department_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Colleague]:
    """Active colleagues found by name, username, position, phone or e-mail, optionally within a department (and
    its sub-departments); ordered by name."""
    require(actor, READ, target='directory')
    stmt = select(User).where(User.is_active)
    text = query.strip()
    if text:
        like = like_pattern(text)
        stmt = stmt.where(
            or_(
                User.display_name.ilike(like, escape='\\'),
                User.username.ilike(like, escape='\\'),
                User.position.ilike(like, escape='\\'),
                User.work_phone.ilike(like, escape='\\'),
                User.email.ilike(like, escape='\\'),
            )
        )
    if department_id is not None:
        departments = _below(_children_map(_open_departments(session)), department_id)
        stmt = stmt.where(
            User.id.in_(select(DepartmentMember.user_id).where(DepartmentMember.department_id.in_(departments)))
        )
    offset, limit = max(offset, 0), min(max(limit, 1), 200)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    users = list(session.scalars(stmt.order_by(User.display_name, User.id).offset(offset).limit(limit)))
    return Page(items=_describe(session, users), total=total, offset=offset, limit=limit)


def _describe(session: Session, users: Sequence[User]) -> list[Colleague]:
    ids = [user.id for user in users]
    names: dict[int, list[str]] = {uid: [] for uid in ids}
    rows = session.execute(
        select(DepartmentMember.user_id, Department.name)
        .join(Department, Department.id == DepartmentMember.department_id)
        .where(DepartmentMember.user_id.in_(ids))
        .order_by(DepartmentMember.is_main.desc(), Department.name)
    )
    for user_id, name in rows:
        names[user_id].append(name)
    managers = {uid: manager_of(session, uid) for uid in ids}
    wanted = {mid for mid in managers.values() if mid is not None}
    manager_names = {
        uid: name for uid, name in session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    }
    return [
        Colleague(
            id=user.id,
            username=user.username,
            name=user.display_name,
            position=user.position,
            work_phone=user.work_phone,
            email=user.email,
            departments=tuple(names[user.id]),
            manager=manager_names.get(managers[user.id] or 0, ''),
        )
        for user in users
    ]


# Changing the tree (core.manage_users).


def _clean_name(name: str) -> str:
    name = ' '.join(name.split())
    if not name:
        raise ValidationError(N_('Enter a name for the department.'), field='name')
    if len(name) > NAME_MAX:
        raise ValidationError(N_('A department name is at most {n} characters.'), field='name', n=NAME_MAX)
    if not name.isprintable():
        raise ValidationError(N_('A department name cannot hold control characters.'), field='name')
    return name


def _clean_code(session: Session, code: str, *, own_id: int | None = None) -> str | None:
    code = code.strip()
    if not code:
        return None
    if not CODE_RE.match(code):
        raise ValidationError(
            N_('A department code is 1 to 32 letters, digits, dots, dashes or underscores, first a letter or digit.'),
            field='code',
        )
    taken = session.scalar(select(Department.id).where(func.lower(Department.code) == code.lower()))
    if taken is not None and taken != own_id:
        raise Conflict(N_('The department code "{code}" is already used.'), code=code)
    return code


def _open(session: Session, department_id: int, *, field_name: str = 'department') -> Department:
    department = session.get(Department, department_id)
    if department is None or department.closed_at is not None:
        raise ValidationError(N_('No such department, or it was closed.'), field=field_name)
    return department


def _check_sibling_name(session: Session, name: str, parent_id: int | None, own_id: int | None = None) -> None:
    siblings = select(Department.id).where(
        Department.closed_at.is_(None),
        func.lower(Department.name) == name.lower(),
        Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id,
    )
    found = session.scalar(siblings)
    if found is not None and found != own_id:
        raise Conflict(N_('A department called "{name}" is already there.'), name=name)


def _depth(session: Session, department_id: int | None) -> int:
    depth = 0
    while department_id is not None and depth <= DEPTH_MAX + 1:
        department = session.get(Department, department_id)
        department_id = department.parent_id if department is not None else None
        depth += 1
    return depth


def _subtree_height(session: Session, department_id: int) -> int:
    children = _children_map(_open_departments(session))

    def height(node: int) -> int:
        return 1 + max((height(child) for child in children.get(node, ())), default=0)

    return height(department_id)


# The audit actions of department events (each with its sentence in appliance.services.audit_texts).
AUDIT_ACTIONS = {
    'created': 'department.created',
    'renamed': 'department.renamed',
    'moved': 'department.moved',
    'changed': 'department.changed',
    'heads': 'department.heads',
    'merged': 'department.merged',
    'absorbed': 'department.absorbed',
    'closed': 'department.closed',
}


def _event(session: Session, actor: Actor, department: Department, action: str, **details: Any) -> None:
    session.add(
        DepartmentEvent(
            department_id=department.id,
            actor_name=actor.username,
            action=action,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
        )
    )
    audit.record(
        session=session,
        actor=actor,
        action=AUDIT_ACTIONS[action],
        target=f'department:{department.name}',
        details=details,
    )


def create_department(
    session: Session, actor: Actor, *, name: str, parent_id: int | None = None, code: str = '', order: int | None = None
) -> Department:
    """A new department at the top or under `parent_id`; placed last among its siblings unless `order` is given."""
    require(actor, MANAGE, target='departments')
    name = _clean_name(name)
    if parent_id is not None:
        _open(session, parent_id, field_name='parent_id')
        if _depth(session, parent_id) >= DEPTH_MAX:
            raise ValidationError(N_('Departments nest at most {n} levels deep.'), field='parent_id', n=DEPTH_MAX)
    _check_sibling_name(session, name, parent_id)
    if order is None:
        last = session.scalar(
            select(func.max(Department.sort_order)).where(
                Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id
            )
        )
        order = (last or 0) + 10
    department = Department(name=name, code=_clean_code(session, code), parent_id=parent_id, sort_order=order)
    session.add(department)
    session.flush()
    _event(session, actor, department, 'created', name=name, parent=_name_of(session, parent_id), code=code.strip())
    return department


def _name_of(session: Session, department_id: int | None) -> str:
    if department_id is None:
        return ''
    department = session.get(Department, department_id)
    return department.name if department else ''


_UNSET: Any = object()


def update_department(
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    name: str | None = None,
    code: str | None = None,
    order: int | None = None,
    parent_id: int | None = _UNSET,
) -> Department:
    """Rename, recode, reorder or move a department (never under itself or one of its own sub-departments)."""
    require(actor, MANAGE, target=f'department#{department_id}')
    department = _open(session, department_id)
    changes: dict[str, Any] = {}
    new_parent = department.parent_id if parent_id is _UNSET else parent_id
    if parent_id is not _UNSET and parent_id != department.parent_id:
        if parent_id is not None:
            _open(session, parent_id, field_name='parent_id')
            if parent_id in _below(_children_map(_open_departments(session)), department.id):
                raise Conflict(N_('A department cannot move under itself or one of its own sub-departments.'))
            if _depth(session, parent_id) + _subtree_height(session, department.id) > DEPTH_MAX:
                raise ValidationError(N_('Departments nest at most {n} levels deep.'), field='parent_id', n=DEPTH_MAX)
        changes['moved'] = {'from': _name_of(session, department.parent_id), 'to': _name_of(session, parent_id)}
    new_name = _clean_name(name) if name is not None else department.name
    if new_name != department.name or 'moved' in changes:
        _check_sibling_name(session, new_name, new_parent, own_id=department.id)
    if new_name != department.name:
        changes['renamed'] = {'from': department.name, 'to': new_name}
    if code is not None:
        cleaned = _clean_code(session, code, own_id=department.id)
        if cleaned != department.code:
            changes['code'] = {'from': department.code or '', 'to': cleaned or ''}
            department.code = cleaned
    if order is not None and order != department.sort_order:
        changes['order'] = {'from': department.sort_order, 'to': order}
        department.sort_order = order
    department.name = new_name
    department.parent_id = new_parent
    session.flush()
    if 'moved' in changes:
        _event(session, actor, department, 'moved', **{'from': changes['moved']['from'], 'to': changes['moved']['to']})
    if 'renamed' in changes:
        _event(session, actor, department, 'renamed', **changes['renamed'])
    if 'code' in changes or 'order' in changes:
        _event(session, actor, department, 'changed', **{k: changes[k] for k in ('code', 'order') if k in changes})
    return department


def set_heads(session: Session, actor: Actor, department_id: int, user_ids: Sequence[int]) -> Department:
    """Who heads a department (its managers): active accounts; one may head several departments."""
    require(actor, MANAGE, target=f'department#{department_id}')
    department = _open(session, department_id)
    wanted = sorted(set(user_ids))
    if len(wanted) > 20:
        raise ValidationError(N_('A department has at most {n} heads.'), field='heads', n=20)
    found = {
        uid: name
        for uid, name in session.execute(select(User.id, User.display_name).where(User.id.in_(wanted), User.is_active))
    }
    missing = [uid for uid in wanted if uid not in found]
    if missing:
        raise ValidationError(N_('Heads must be active accounts.'), field='heads')
    before = set(session.scalars(select(DepartmentHead.user_id).where(DepartmentHead.department_id == department.id)))
    if before == set(wanted):
        return department
    session.execute(delete(DepartmentHead).where(DepartmentHead.department_id == department.id))
    session.add_all(DepartmentHead(department_id=department.id, user_id=uid) for uid in wanted)
    session.flush()
    _event(session, actor, department, 'heads', heads=[found[uid] for uid in wanted])
    return department


def merge_departments(session: Session, actor: Actor, source_id: int, target_id: int) -> Department:
    """Merge `source` into `target`: its people, sub-departments and heads go to the target; the source is closed
    (kept, with where it went). The target cannot be the source or under it."""
    require(actor, MANAGE, target=f'department#{source_id}')
    source = _open(session, source_id, field_name='source')
    target = _open(session, target_id, field_name='target')
    if target.id in _below(_children_map(_open_departments(session)), source.id):
        raise Conflict(N_('A department cannot be merged into itself or one of its own sub-departments.'))
    moved_people = 0
    for member in list(session.scalars(select(DepartmentMember).where(DepartmentMember.department_id == source.id))):
        existing = session.get(DepartmentMember, (member.user_id, target.id))
        if existing is None:
            session.add(DepartmentMember(user_id=member.user_id, department_id=target.id, is_main=member.is_main))
            moved_people += 1
        elif member.is_main:
            existing.is_main = True
        session.delete(member)
    for head in list(session.scalars(select(DepartmentHead).where(DepartmentHead.department_id == source.id))):
        if session.get(DepartmentHead, (target.id, head.user_id)) is None:
            session.add(DepartmentHead(department_id=target.id, user_id=head.user_id))
        session.delete(head)
    children = list(
        session.scalars(select(Department).where(Department.parent_id == source.id, Department.closed_at.is_(None)))
    )
    session.flush()
    for child in children:
        _check_sibling_name(session, child.name, target.id, own_id=child.id)
        child.parent_id = target.id
    source.closed_at = utcnow()
    source.merged_into_id = target.id
    session.flush()
    _event(session, actor, source, 'merged', into=target.name, people=moved_people, sub_departments=len(children))
    _event(session, actor, target, 'absorbed', source=source.name, people=moved_people)
    return target


def close_department(session: Session, actor: Actor, department_id: int) -> Department:
    """Close an empty department (no people, no open sub-departments); it stays in the history."""
    require(actor, MANAGE, target=f'department#{department_id}')
    department = _open(session, department_id)
    if session.scalar(select(DepartmentMember.user_id).where(DepartmentMember.department_id == department.id)):
        raise Conflict(N_('People are still in this department: move them, or merge it into another one.'))
    if session.scalar(
        select(Department.id).where(Department.parent_id == department.id, Department.closed_at.is_(None))
    ):
        raise Conflict(N_('This department has sub-departments: move or close them first, or merge it.'))
    session.execute(delete(DepartmentHead).where(DepartmentHead.department_id == department.id))
    department.closed_at = utcnow()
    session.flush()
    _event(session, actor, department, 'closed')
    return department


# Placing people.


@dataclass(frozen=True)
class Placement:
    """Where a person sits: main and other departments, position, manager (explicit, or None) and work phone."""

    main_department_id: int | None
    other_department_ids: tuple[int, ...]
    position: str
    manager_id: int | None
    work_phone: str


def placement_of(session: Session, actor: Actor, user_id: int) -> Placement:
    """Where a person sits now (admin, or the person)."""
    if actor.id != user_id:
        require(actor, MANAGE, target=f'user#{user_id}')
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_('No such user.'))
    rows = session.execute(
        select(DepartmentMember.department_id, DepartmentMember.is_main).where(DepartmentMember.user_id == user_id)
    ).all()
    main = next((department_id for department_id, is_main in rows if is_main), None)
    others = tuple(sorted(department_id for department_id, is_main in rows if not is_main))
    return Placement(main, others, user.position, user.manager_id, user.work_phone)


def _clean_phone(phone: str) -> str:
    phone = phone.strip()
    if phone and not PHONE_RE.match(phone):
        raise ValidationError(
            N_('A work phone holds digits and + ( ) - . / # *, 3 to 40 characters; or leave it empty.'),
            field='work_phone',
        )
    return phone


def _clean_position(position: str) -> str:
    position = ' '.join(position.split())
    if len(position) > POSITION_MAX:
        raise ValidationError(N_('A position is at most {n} characters.'), field='position', n=POSITION_MAX)
    if not position.isprintable():
        raise ValidationError(N_('A position cannot hold control characters.'), field='position')
    return position


def _check_manager(session: Session, user: User, manager_id: int | None) -> None:
    if manager_id is None:
        return
    if manager_id == user.id:
        raise ValidationError(N_('Nobody can be their own manager.'), field='manager_id')
    manager = session.get(User, manager_id)
    if manager is None or not manager.is_active:
        raise ValidationError(N_('The manager must be an active account.'), field='manager_id')
    # Walk up from the new manager: meeting the person means they would manage (someone who manages) themself.
    seen: set[int] = set()
    current: User | None = manager
    while current is not None and current.id not in seen:
        if current.id == user.id:
            raise Conflict(
                N_('{name} already reports to this person, directly or further up.'), name=manager.display_name
            )
        seen.add(current.id)
        current = session.get(User, current.manager_id) if current.manager_id is not None else None


def place_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    main_department_id: int | None = _UNSET,
    other_department_ids: Sequence[int] | None = None,
    position: str | None = None,
    manager_id: int | None = _UNSET,
    work_phone: str | None = None,
) -> Placement:
    """Set where a person sits (admin); only what is passed changes. The main department is also one of theirs;
    an other department equal to the main one is ignored."""
    require(actor, MANAGE, target=f'user#{user_id}')
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_('No such user.'))
    before = placement_of(session, actor, user_id)
    main = before.main_department_id if main_department_id is _UNSET else main_department_id
    others = before.other_department_ids if other_department_ids is None else tuple(sorted(set(other_department_ids)))
    others = tuple(department_id for department_id in others if department_id != main)
    if len(others) > OTHER_DEPARTMENTS_MAX:
        raise ValidationError(
            N_('A person is in at most {n} other departments.'), field='other_department_ids', n=OTHER_DEPARTMENTS_MAX
        )
    if main is not None and main != before.main_department_id:
        _open(session, main, field_name='main_department_id')
    for department_id in set(others) - set(before.other_department_ids) - {before.main_department_id}:
        _open(session, department_id, field_name='other_department_ids')
    new_position = before.position if position is None else _clean_position(position)
    new_phone = before.work_phone if work_phone is None else _clean_phone(work_phone)
    new_manager = before.manager_id if manager_id is _UNSET else manager_id
    if new_manager != before.manager_id:
        _check_manager(session, user, new_manager)
    after = Placement(main, others, new_position, new_manager, new_phone)
    if after == before:
        return before
    wanted = {department_id: department_id == main for department_id in (*others, *([main] if main else []))}
    existing = {
        m.department_id: m for m in session.scalars(select(DepartmentMember).where(DepartmentMember.user_id == user.id))
    }
    for department_id, member in existing.items():
        if department_id not in wanted:
            session.delete(member)
        else:
            member.is_main = wanted[department_id]
    session.flush()  # a former main row now not main, before another becomes main
    for department_id, is_main in wanted.items():
        if department_id not in existing:
            session.add(DepartmentMember(user_id=user.id, department_id=department_id, is_main=is_main))
    user.position, user.manager_id, user.work_phone = new_position, new_manager, new_phone
    session.flush()
    details: dict[str, Any] = {}
    if (before.main_department_id, before.other_department_ids) != (main, others):
        details['departments'] = [_name_of(session, d) for d in (*([main] if main else []), *others)]
    if new_position != before.position:
        details['position'] = new_position
    if new_manager != before.manager_id:
        manager = session.get(User, new_manager) if new_manager else None
        details['manager'] = manager.display_name if manager else ''
    if new_phone != before.work_phone:
        details['work_phone'] = new_phone
    audit.record(session=session, actor=actor, action='user.placed', target=f'user:{user.username}', details=details)
    return after


def department_by_name_or_code(session: Session, text: str) -> Department | None:
    """An open department by its code, or by a path of names separated by '/' (for imports): 'Sales/East'."""
    text = text.strip()
    if not text:
        return None
    by_code = session.scalar(
        select(Department).where(func.lower(Department.code) == text.lower(), Department.closed_at.is_(None))
    )
    if by_code is not None:
        return by_code
    parent: int | None = None
    found: Department | None = None
    for part in [piece.strip() for piece in text.split('/') if piece.strip()]:
        found = session.scalar(
            select(Department).where(
                Department.closed_at.is_(None),
                func.lower(Department.name) == part.lower(),
                Department.parent_id.is_(None) if parent is None else Department.parent_id == parent,
            )
        )
        if found is None:
            return None
        parent = found.id
    return found
