"""The test tiers: markers set from what a test uses, and the xdist groups of tests that must not run side by side.

`make test-fast` runs `-m 'not ui and not restic and not system and not e2e'` (services, API, the contract test);
`make test` runs everything. A test gets

- `e2e` when it lives under tests/e2e/ (a real Chromium against a live server);
- `ui` when it uses NiceGUI's `user` fixture, lives under a ui/ folder, or its file is `*_ui.py` or `test_pages*`;
- `restic` when its file is in RESTIC_FILES (they run the restic binary, directly or through a saved target);
- `system` when its file (or the test itself) is in SYSTEM or it uses a fixture in SYSTEM_FIXTURES: subprocesses
  of the enclave command, a live server, nginx, sshd, qemu, provisioning, start-up.

A new file that runs restic or a subprocess belongs in one of the lists below; everything else is classified from
its fixtures and its path.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

MARKERS = {
    'ui': "uses NiceGUI's user fixture (a simulated browser on the app): tests/*/ui/, *_ui.py, test_pages*",
    'restic': 'runs the restic binary: backups, restores, snapshots, runs, targets, sftp',
    'system': 'runs subprocesses: the enclave command, a live server, nginx, sshd, qemu, provisioning, start-up',
    'e2e': 'drives a real Chromium against a live server',
}

# Files whose tests run restic (paths relative to tests/).
RESTIC_FILES = frozenset(
    {
        'console/test_backup.py',
        'console/test_backup_page.py',
        'console/test_backup_trust.py',
        'console/test_database_kinds.py',
        'console/test_reader_time.py',
        'console/test_restic.py',
        'console/test_restore.py',
        'console/test_runs.py',
        'console/test_schedule.py',
        'console/test_sftp.py',
        'console/test_snapshot.py',
        'console/test_support.py',
        'console/test_targets.py',
        'bench/test_bench_backup_smoke.py',
    }
)

# Files (or single tests, 'file::name') whose tests start processes of their own.
SYSTEM = frozenset(
    {
        'appliance/test_startup.py',  # the enclave command as root and as nobody
        'appliance/test_clean_stop.py',  # a live server stopped by a signal
        'appliance/test_workers.py',  # the supervisor's workers, a live server with two
        'appliance/test_cli.py::test_it_runs_as_the_installed_console_script',
        'appliance/test_cli.py::test_it_serves_on_a_unix_socket_and_opens_no_tcp_port',
        'console/test_certificate.py',  # provisioning's tls.sh
        'console/test_sftp.py',  # sshd
        'modules/test_api_fuzz.py',  # a live server
        'modules/tasks/test_upload_limits_live.py',  # a live server
        'test_offline.py',  # a live server under a network audit
        'bench/test_bench_smoke.py',
        'bench/test_bench_backup_smoke.py',
        'bench/test_bench_mixed_smoke.py',  # two workers behind nginx
        'bench/test_bench_memory_smoke.py',  # a live server and its websockets
        'provisioning/',  # nginx, bundles, the boot loader under qemu, units
    }
)

# Fixtures that start processes: a writer killed mid-write, a live server, sshd.
SYSTEM_FIXTURES = frozenset({'crashes', 'live_server', 'sshd'})

# Tests that share something a second worker would trip over run on one worker: the browser stories (one Chromium
# at a time on 2 cores) and provisioning (nginx, the boot loader under qemu, bundle builds: heavy on 2 cores).
SERIAL_GROUPS = {
    # The visual pass has a server and a browser of its own and needs no other story: a group of its own, so that
    # it can run on the other worker beside the stories (the first matching entry counts).
    'e2e/test_visual_pass.py': 'chromium-visual',
    'e2e/': 'chromium',
    'provisioning/': 'provisioning',
}


def relative(item: pytest.Item) -> str:
    """The test's file relative to tests/, with forward slashes."""
    path = PurePosixPath(item.path.as_posix())
    parts = path.parts
    index = len(parts) - 1 - parts[::-1].index('tests') if 'tests' in parts else 0
    return str(PurePosixPath(*parts[index + 1 :]))


def _listed(listing: frozenset[str], file: str, name: str) -> bool:
    return any(
        file == entry or f'{file}::{name}' == entry or (entry.endswith('/') and file.startswith(entry))
        for entry in listing
    )


def tiers_of(item: pytest.Item) -> set[str]:
    """The markers a test gets from what it uses."""
    file = relative(item)
    name = getattr(item, 'originalname', None) or item.name
    stem = PurePosixPath(file).name
    found = set()
    if file.startswith('e2e/'):
        found.add('e2e')
    if (
        'user' in getattr(item, 'fixturenames', ())
        or '/ui/' in f'/{file}'
        or stem.endswith('_ui.py')
        or stem.startswith('test_pages')
    ):
        found.add('ui')
    if file in RESTIC_FILES:
        found.add('restic')
    if _listed(SYSTEM, file, name) or SYSTEM_FIXTURES & set(getattr(item, 'fixturenames', ())):
        found.add('system')
    return found


def group_of(file: str) -> str | None:
    """The group of a test file (relative to tests/) whose tests run one after another on one worker, or None."""
    for prefix, group in SERIAL_GROUPS.items():
        if file == prefix or (prefix.endswith('/') and file.startswith(prefix)):
            return group
    return None


def register(config: pytest.Config) -> None:
    """Register the markers (pyproject lists them too, for --markers and --strict-markers) and, with xdist, the
    scheduler that keeps each serial group on one worker."""
    for name, description in MARKERS.items():
        config.addinivalue_line('markers', f'{name}: {description}')
    if config.pluginmanager.hasplugin('xdist'):  # `-p no:xdist` leaves the hook unknown
        config.pluginmanager.register(_Scheduler(), 'enclave-serial-groups')


def apply(items: list[pytest.Item]) -> None:
    """Mark every collected test with its tiers."""
    for item in items:
        for name in sorted(tiers_of(item) - {mark.name for mark in item.iter_markers()}):
            item.add_marker(getattr(pytest.mark, name))


class _Scheduler:
    @staticmethod
    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
        """With `--dist loadgroup`, the browser stories and provisioning each keep to one worker."""
        return GroupScheduling(config, log) if config.getvalue('dist') == 'loadgroup' else None


class GroupScheduling(LoadScopeScheduling):
    """`--dist loadgroup` by SERIAL_GROUPS: each group is one unit of work for one worker, every other test its own.

    xdist 3.8 groups by an `@group` suffix it writes into the node id, which pytest 9 no longer reads back (node ids
    are computed); so the controller groups by the test's file instead, from the node id it is sent.
    """

    def _split_scope(self, nodeid: str) -> str:
        file = nodeid.split('::', 1)[0].removeprefix('tests/')
        return group_of(file) or nodeid
