"""One button order in every dialog and inline editor: Cancel, then the primary action on the right.

Read from the source: in each `with ui.row()` block that holds a Cancel button, exactly one button (the primary
action) follows Cancel; side actions (Remove, Disable) come before it, on the left.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _button_label(node: ast.AST) -> str | None:
    """'Cancel' for `ui.button(_('Cancel'), ...)` (through chained .props()/.mark()); '?' for another button."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr != 'button':
        node = node.func.value
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'button'):
        return None
    first = node.args[0] if node.args else None
    if isinstance(first, ast.Call) and first.args and isinstance(first.args[0], ast.Constant):
        return str(first.args[0].value)
    return '?'


def _rows(tree: ast.AST) -> list[tuple[int, list[str]]]:
    rows = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.With):
            continue
        if not any('row' in ast.unparse(item.context_expr) for item in node.items):
            continue
        labels = []
        for statement in node.body:
            value = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
            label = _button_label(value) if value is not None else None
            if label is not None:
                labels.append(label)
        rows.append((node.lineno, labels))
    return rows


def test_cancel_comes_just_before_the_primary_action() -> None:
    wrong = []
    for folder in ('appliance', 'console', 'modules'):
        for path in (ROOT / folder).rglob('*.py'):
            for line, labels in _rows(ast.parse(path.read_text('utf-8'))):
                if 'Cancel' in labels and len(labels) > 1 and labels.index('Cancel') != len(labels) - 2:
                    wrong.append(f'{path.relative_to(ROOT)}:{line}: {labels}')
    assert wrong == []
