"""The boundary checker (scripts/boundaries.py): each rule fires on a planted violation, and this tree is clean."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location('boundaries', ROOT / 'scripts' / 'boundaries.py')
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules['boundaries'] = module
    spec.loader.exec_module(module)
    return module


boundaries = load_checker()

SPEC = """from appliance.modules import ModuleSpec
MODULE = ModuleSpec(name={name!r}, label='X', requires={requires!r})
"""


def write(root: Path, rel: str, text: str = '') -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')


OPEN = 'from appliance.db import get_database\nget_database().session()\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A clean little project: a core, a console, and modules alpha and beta (beta requires alpha)."""
    write(tmp_path, 'appliance/__init__.py')
    write(tmp_path, 'appliance/services/__init__.py')
    write(tmp_path, 'appliance/services/accounts.py', 'import sqlalchemy\n')
    write(tmp_path, 'appliance/ui/actions.py', 'from appliance.db import get_database\nget_database().session()\n')
    write(tmp_path, 'console/__init__.py', SPEC.format(name='console', requires=()))
    write(tmp_path, 'modules/__init__.py')
    write(tmp_path, 'modules/alpha/__init__.py', SPEC.format(name='alpha', requires=()))
    write(tmp_path, 'modules/alpha/models.py', 'import sqlalchemy\n')
    write(tmp_path, 'modules/alpha/services/__init__.py', 'from modules.alpha.services.things import make\n')
    write(tmp_path, 'modules/alpha/services/things.py', 'from modules.alpha.models import Base\ndef make(): ...\n')
    write(tmp_path, 'modules/alpha/pages/__init__.py', 'from nicegui import ui\nfrom modules.alpha import services\n')
    write(tmp_path, 'modules/alpha/pages/frame.py', 'from ..services import make\n')
    write(tmp_path, 'modules/alpha/api/__init__.py', 'from fastapi import APIRouter\nfrom . import items\n')
    write(tmp_path, 'modules/alpha/api/items.py', 'from ..services import make\n')
    write(tmp_path, 'modules/beta/__init__.py', SPEC.format(name='beta', requires=('alpha',)))
    write(tmp_path, 'modules/beta/services/__init__.py', 'from modules.alpha import services, views\n')
    return tmp_path


def rules(root: Path) -> list[tuple[str, str]]:
    return sorted((v.path, v.rule) for v in boundaries.check(root))


def test_a_clean_tree_passes(tree: Path) -> None:
    assert rules(tree) == []


@pytest.mark.parametrize(
    ('rel', 'text', 'rule'),
    [
        ('appliance/search.py', 'from modules.alpha import services\n', 'core'),
        ('appliance/app.py', 'def f():\n    import console.cli\n', 'core'),
        ('modules/alpha/services/x.py', 'from modules.beta import services\n', 'requires'),
        ('modules/alpha/jobs.py', 'import console.models\n', 'requires'),
        ('modules/beta/pages/__init__.py', 'from modules.alpha.pages import frame\n', 'surface'),
        ('modules/beta/pages/x.py', 'from modules.alpha import pages\n', 'surface'),
        ('modules/beta/search.py', 'from modules.alpha.services.things import make\n', 'surface'),
        ('modules/alpha/pages/board.py', 'from modules.alpha.services.things import make\n', 'private'),
        ('modules/alpha/api/items.py', 'from ..services.things import make\n', 'private'),
        ('modules/alpha/services/y.py', 'from nicegui import ui\n', 'layers'),
        ('modules/alpha/views.py', 'from fastapi import HTTPException\n', 'layers'),
        ('modules/alpha/models.py', 'from appliance.ui.frame import frame\n', 'layers'),
        (
            'modules/alpha/pages/list.py',
            'from appliance.db import get_database\nget_database().session()\n',
            'sessions',
        ),
        (
            'modules/alpha/api/items.py',
            'import appliance.db as db\ndef r():\n    db.get_database().session()\n',
            'sessions',
        ),
        (
            'appliance/ui/pages_admin.py',
            'from appliance.db import get_database\nget_database().session()\n',
            'sessions',
        ),
    ],
)
def test_each_rule_fires(tree: Path, rel: str, text: str, rule: str) -> None:
    write(tree, rel, text)
    assert (rel, rule) in rules(tree)


def test_a_module_without_a_spec_is_not_a_module(tree: Path) -> None:
    write(tree, 'modules/plain/__init__.py', '"""No MODULE here."""\n')
    write(tree, 'modules/plain/x.py', 'from modules.alpha.pages import frame\n')
    assert rules(tree) == []


def test_the_command_line_names_each_violation(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, 'appliance/search.py', 'from modules.alpha import services\n')
    assert boundaries.main([str(tree)]) == 1
    out = capsys.readouterr().out
    assert 'appliance/search.py:1: core: the core imports modules.alpha.services' in out


def test_stats_report_sizes_and_cycles(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, 'modules/alpha/views.py', 'from modules.alpha.services import make\n')
    write(tree, 'modules/alpha/services/things.py', 'def make():\n    from modules.alpha.views import V\n')
    assert boundaries.main([str(tree), '--stats']) == 0
    out = capsys.readouterr().out
    assert 'modules.alpha: ' in out
    assert 'module-level imports): 0 groups' in out
    assert 'counting imports inside functions): 1 groups' in out
