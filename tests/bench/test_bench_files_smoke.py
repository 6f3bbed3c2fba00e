"""`make bench` keeps working: the file benchmark moves a few MiB through the app and the baseline.

The figures of a tiny run mean nothing (they are not checked); the real run is `make bench`. What is checked: a
file goes out byte for byte and uncompressed even when the client asks for gzip (the benchmark asserts both).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_it_uploads_and_downloads_through_the_app_and_the_baseline() -> None:
    argv = [sys.executable, '-m', 'tests.bench.bench_files', '--mib', '4', '--runs', '1']
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ('upload (raw PUT, sha256, fsync)', 'download', 'download, Accept-Encoding: gzip'):
        assert figure in result.stdout, result.stdout
