"""`make bench` keeps working: the page benchmark runs end to end on a tiny data set and prints every figure.

The figures of a tiny run mean nothing (they are not checked); the real run is `make bench`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_it_measures_every_page_beside_its_raw_sql() -> None:
    argv = [sys.executable, '-m', 'tests.bench.bench_pages', '--tasks', '300', '--projects', '3', '--big', '100']
    argv += ['--runs', '2', '--warmup', '1']
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ('trivial route /healthz', 'home /', 'board of the 100-task project', 'list of the 100-task project'):
        assert figure in result.stdout, result.stdout
