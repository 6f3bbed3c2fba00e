"""The app's own code says what each database session is for (docs/adr/0005-database-writes.md).

A session opened without `write=` gets SQLite's deferred transaction: it takes the write lock only at its first
write and fails at once when another writer committed in between. Tests and one-off tools may use that; the
app's code may not.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ('appliance', 'console', 'modules')


def _unstated_sessions(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in ('session', 'new_session') and not node.args:
            if not any(keyword.arg == 'write' for keyword in node.keywords):
                found.append(f'{path.relative_to(root)}:{node.lineno}')
    return found


def test_every_session_of_the_app_says_whether_it_writes() -> None:
    found = [
        hit
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob('*.py'))
        for hit in _unstated_sessions(path)
    ]
    assert found == [], 'open these with write=True or write=False: ' + ', '.join(found)


def test_the_check_sees_a_session_without_intent(tmp_path: Path) -> None:
    sample = tmp_path / 'sample.py'
    sample.write_text(
        'def f(db):\n    with db.session() as s:\n        pass\n    with db.session(write=False):\n        pass\n'
    )
    assert _unstated_sessions(sample, tmp_path) == ['sample.py:2']
