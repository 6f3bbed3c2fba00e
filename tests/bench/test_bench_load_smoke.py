"""`make bench` keeps working: the load benchmark runs end to end for a few seconds and prints every figure.

The figures of a tiny run mean nothing (they are not checked, except that nothing failed); the real run is
`make bench`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_it_runs_writers_and_readers_against_a_real_server() -> None:
    argv = [sys.executable, '-m', 'tests.bench.bench_load', '--seconds', '3', '--writers', '4', '--pages', '2']
    argv += ['--think', '0.2', '--tasks', '300', '--projects', '3', '--big', '50']
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ('API writes', 'board pages', 'trivial route, under load', 'p95 under load / idle'):
        assert figure in result.stdout, result.stdout
    assert 'errors: 0 (target 0)' in result.stdout, result.stdout
    assert '"database is locked" in the server log: 0 times' in result.stdout, result.stdout
