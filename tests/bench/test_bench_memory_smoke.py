"""`make bench` keeps working: the memory benchmark opens and closes a few real tabs (page and websocket) twice
against a real server and prints every figure.

The figures of a tiny run mean nothing (they are not checked, except that every tab connected and the server
logged no error); the real run is `make bench`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_it_opens_and_closes_real_tabs_against_a_real_server() -> None:
    argv = [sys.executable, '-m', 'tests.bench.bench_memory', '--tabs', '4', '--cycles', '2', '--settle', '1']
    argv += ['--tasks', '300', '--projects', '3', '--big', '50']
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ('idle RSS', 'RSS per open tab', 'RSS after close / pre-burst', 'creep of the after-close RSS'):
        assert figure in result.stdout, result.stdout
    assert result.stdout.count('4 tabs open') == 2, result.stdout
    assert 'errors in the server log: 0 (target 0)' in result.stdout, result.stdout
