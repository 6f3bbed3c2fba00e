"""A running backup's progress, seen from another worker (issue 13, item 4): the scheduler's leader runs the backup,
the page asking may be in another process. Written to the data dir at most once a second, gone when the run ends."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.config import get_settings
from console.backup.services import runs
from console.backup.services.restic import Progress

LINE = Progress(
    percent_done=0.25, total_files=40, files_done=10, total_bytes=4_000_000, bytes_done=1_000_000, seconds_elapsed=3
)


def test_another_worker_reads_the_progress_this_one_shared(data_dir: Path) -> None:
    runs._share_progress(7, LINE)
    assert 7 not in runs.PROGRESS  # as in a worker that does not run the backup
    assert runs.progress_of(7) == LINE
    path = get_settings().data_dir / runs.PROGRESS_DIR / '7.json'
    assert json.loads(path.read_text())['files_done'] == 10
    assert oct(path.parent.stat().st_mode & 0o777) == '0o700'


def test_no_progress_for_a_run_that_shared_none_or_a_damaged_file(data_dir: Path) -> None:
    assert runs.progress_of(8) is None
    runs._share_progress(9, LINE)
    (get_settings().data_dir / runs.PROGRESS_DIR / '9.json').write_text('{"percent_done": ')
    assert runs.progress_of(9) is None


def test_the_shared_progress_goes_when_the_run_ends(data_dir: Path) -> None:
    from appliance.db import get_database
    from console.models import Run

    with get_database().session(write=True) as session:
        run = Run(target_name='usb', kind='backup', trigger='manual', actor='alice', status='running')
        session.add(run)
        session.flush()
        run_id = run.id
    runs._share_progress(run_id, LINE)
    runs._finish(run_id, status='ok')
    assert runs.progress_of(run_id) is None
    assert not (get_settings().data_dir / runs.PROGRESS_DIR / f'{run_id}.json').exists()
