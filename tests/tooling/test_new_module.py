"""scripts/new_module.py writes a module that works as it is: checked, loaded by one config line, migrated, covered.

The module is written into a temporary folder (never into modules/), then checked by ruff, mypy and the boundary
check, and run in a subprocess together with the contract test (which covers every installed module, so it covers
this one too) and tests/tooling/new_module_story.py (its page, API route, permission, search, backup and health
hooks, and its migration). So the template cannot rot.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'scripts'))

import boundaries  # noqa: E402
import new_module  # noqa: E402

NAME = 'scratchpad'


@pytest.fixture(scope='module')
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module, written from the template into a folder of its own."""
    root = tmp_path_factory.mktemp('extra')
    (root / 'modules').mkdir()
    (root / 'tests').mkdir()
    return new_module.write_module(
        NAME, 'Scratchpad', root / 'modules', down_revision=new_module.current_head(), tests_into=root / 'tests'
    )


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}, check=False
    )


def test_it_refuses_a_bad_name_or_an_existing_folder(written: Path) -> None:
    with pytest.raises(SystemExit, match='is not a module name'):
        new_module.write_module('Bad-Name', 'X', written.parent, down_revision=None, tests_into=written.parent)
    with pytest.raises(SystemExit, match='exists already'):
        new_module.write_module(NAME, 'X', written.parent, down_revision=None, tests_into=written.parent.parent / 'x')
    assert not (written.parent.parent / 'x').exists()


def test_the_written_module_has_the_documented_shape(written: Path) -> None:
    files = {path.relative_to(written).as_posix() for path in written.rglob('*.py')}
    expected = {'__init__.py', 'models.py', 'views.py', 'services/__init__.py', 'api/__init__.py', 'pages/__init__.py'}
    assert expected | {'search.py', 'backup.py', 'health.py'} <= files
    assert any(name.startswith('migrations/') for name in files)


@pytest.mark.system  # ruff and mypy in subprocesses: ten seconds, not for the fast tier
def test_the_written_module_passes_ruff_mypy_and_the_boundary_check(written: Path) -> None:
    python = sys.executable
    config = str(ROOT / 'pyproject.toml')
    ruff = run(python, '-m', 'ruff', 'check', '--config', config, str(written))
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    formatted = run(python, '-m', 'ruff', 'format', '--check', '--config', config, str(written))
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    # mypy, run beside the written folder, reads it as modules.<name>; the project's packages come from MYPYPATH.
    (written.parent / '__init__.py').touch()
    typed = subprocess.run(
        [
            python,
            '-m',
            'mypy',
            '--config-file',
            str(ROOT / 'pyproject.toml'),
            '--no-incremental',
            '-p',
            f'modules.{NAME}',
        ],
        cwd=written.parent.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, 'MYPYPATH': str(ROOT)},
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
    assert boundaries.check(written.parent.parent) == []


@pytest.mark.system
def test_the_written_module_loads_migrates_and_meets_the_contract(written: Path) -> None:
    result = run(
        sys.executable,
        '-m',
        'pytest',
        '-q',
        '-p',
        'no:cacheprovider',
        '-p',
        'tests.support.extra_modules',
        '-p',
        'no:xdist',
        'tests/test_contract.py',
        'tests/tooling/new_module_story.py',
        '-k',
        f'{NAME} or story or every_table',
        env={
            'ENCLAVE_TEST_EXTRA_MODULES': str(written.parent),
            'ENCLAVE_TEST_EXTRA_MODULE_TESTS': str(written.parent.parent / 'tests'),
            'ENCLAVE_TEST_NEW_MODULE': NAME,
        },
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert ' passed' in result.stdout and ' failed' not in result.stdout
