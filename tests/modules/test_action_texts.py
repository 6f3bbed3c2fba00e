"""Every action the code records reads as a sentence: in a project's activity feed and in the audit log.

The actions are found in the source (the literal `action='...'` of each recording call), so a new action without
a sentence fails here instead of showing its raw id ("tasks.imported") to people.
"""

from __future__ import annotations

import re
from pathlib import Path

from appliance.services import audit_texts, directory
from modules.projects.services.feed import _texts as activity_texts

ROOT = Path(__file__).resolve().parents[2]
ACTIVITY_CALL = re.compile(
    r"\b(?:record_activity|record_project_activity|record)\(\s*session,[^()]*?action='([a-z_.]+)'", re.S
)
AUDIT_CALL = re.compile(
    r"\baudit\.record(?:_now)?\((?:[^()]|\([^()]*\))*?action=(f?)'([^']+)'(?: if \w+ else '([^']+)')?", re.S
)
CONSOLE_KINDS = ('backup', 'forget', 'check', 'read_data', 'drill', 'restore')  # console/backup/services/runs.py


def _sources(*folders: str) -> str:
    return '\n'.join(path.read_text('utf-8') for folder in folders for path in (ROOT / folder).rglob('*.py'))


def test_every_activity_action_has_a_sentence() -> None:
    recorded = set(ACTIVITY_CALL.findall(_sources('modules')))
    assert {'task.created', 'tasks.imported', 'time.deleted', 'member.added'} <= recorded
    assert sorted(recorded - set(activity_texts())) == []


def test_every_audited_action_has_a_sentence() -> None:
    recorded: set[str] = set()
    for formatted, action, other in AUDIT_CALL.findall(_sources('appliance', 'console', 'modules')):
        if formatted:
            recorded |= {action.replace('{kind}', kind) for kind in CONSOLE_KINDS}
        else:
            recorded |= {action, other} - {''}
    recorded |= set(directory.AUDIT_ACTIONS.values())  # recorded through a table, not a literal
    assert {'user.create', 'user.disable', 'console.drill', 'tasks.import', 'project.created'} <= recorded
    assert sorted(recorded - set(audit_texts.texts())) == []


def test_an_audit_sentence_is_filled_from_the_target_and_details_and_survives_bad_ones() -> None:
    from appliance import i18n

    assert audit_texts.describe('user.create', 'user:wang.fang', {}) == 'Created the account wang.fang'
    assert audit_texts.describe('tasks.import', 'project:1', {'count': 12}) == 'Imported 12 tasks from a CSV file'
    assert audit_texts.describe('tasks.import', 'project:1', {}) == 'Imported  tasks from a CSV file'
    assert audit_texts.describe('brand.new', 'x:1', {}) == 'Another action; see its details'
    assert audit_texts.details_of('not json') == {} and audit_texts.details_of('[1]') == {}
    token = i18n.current_language.set('zh_CN')
    try:
        assert audit_texts.describe('user.disable', 'user:emma', {}) == '停用了账号 emma'
    finally:
        i18n.current_language.reset(token)
