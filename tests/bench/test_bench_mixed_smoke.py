"""`make bench` keeps working: the mixed-load benchmark (two workers behind the shipped nginx site) runs end to end
for a few seconds and prints every figure. The figures of a tiny run mean nothing and are not checked, except that
no request failed; the real run is `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_it_runs_a_small_company_on_two_workers_behind_nginx() -> None:
    argv = [sys.executable, '-m', 'tests.bench.bench_mixed', '--users', '6', '--seconds', '4', '--steps', '3,6']
    argv += ['--step-seconds', '3', '--think', '0.3', '--tasks', '400', '--big', '60', '--company', '12']
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ('trivial route idle', '6 people, 4 s', 'board page', 'highest number of people acting at once'):
        assert figure in result.stdout, result.stdout
    assert 'errors    0' in result.stdout, result.stdout
    assert '"database is locked" in the server log: 0 times' in result.stdout, result.stdout
