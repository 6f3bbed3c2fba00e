"""`make bench` keeps measuring backups: the backup benchmark runs end to end on ~20 MiB and prints every figure.

The figures of a tiny run mean nothing (they are not checked against their targets); the real run is `make bench`.
The page figure during the scheduler's backup is left out here: it waits a minute for the scheduler's first tick.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NUMBER = r'(\d+\.\d+) (MB/s|s|ms)'
FIGURES = ('full backup throughput', 'incremental backup after a 1% change', 'page p95 during `enclave backup run`')


def test_it_runs_the_backup_benchmark_on_a_tiny_data_set() -> None:
    argv = [sys.executable, '-m', 'tests.bench.bench_backup', '--backup-mib', '20', '--tasks', '600']
    # The upgrade figures run the same root helper as tests/console/test_upgrade_helper.py: left out here for time.
    argv += ['--projects', '5', '--big', '200', '--runs', '3', '--no-scheduled', '--no-upgrade']
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r'and \d+ attachments \((2[01]) MB\)', result.stdout), result.stdout
    for figure in FIGURES:
        line = re.search(rf'^{re.escape(figure)}.*$', result.stdout, re.MULTILINE)
        assert line, f'no "{figure}" row:\n{result.stdout}'
        match = re.search(rf'{NUMBER}\s+{NUMBER}\s+(\d+\.\d+)\s+\S.*\s(yes|NO)$', line.group(0))
        assert match, f'the "{figure}" row has no app, baseline, ratio and verdict: {line.group(0)}'
        app, unit, base, base_unit, ratio = float(match[1]), match[2], float(match[3]), match[4], float(match[5])
        assert unit == base_unit and app > 0 and base > 0, line.group(0)
        assert abs(ratio - app / base) <= 0.01 + 0.01 * ratio, line.group(0)  # the ratio is of the printed numbers
