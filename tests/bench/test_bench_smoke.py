"""`make bench` keeps working: the benchmark runs end to end on a tiny data set and prints every figure.

The figures of a tiny run mean nothing (they are not checked); the real run is `make bench`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_it_runs_the_benchmark_on_a_tiny_data_set() -> None:
    argv = [sys.executable, '-m', 'tests.bench.bench_tasks', '--tasks', '600', '--projects', '5', '--big', '200']
    argv += ['--runs', '2', '--import-rows', '100', '--no-browser']
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ('board page', 'GET /api/v1/tasks', 'search "项目"', 'CSV import of 100 tasks'):
        assert figure in result.stdout, result.stdout
