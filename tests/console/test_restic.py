"""The restic wrapper against the real restic binary and real repositories on disk."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from console.backup.services.restic import (
    NoSpace,
    Progress,
    Repository,
    RepositoryDamaged,
    RepositoryLocked,
    RepositoryNotFound,
    ResticError,
    ResticMissing,
    WrongPassword,
    explain,
)


def repository(tmp_path: Path, name: str = 'repo', password: str = 'correct horse') -> Repository:
    secret = tmp_path / f'{name}.password'
    secret.write_text(password)
    secret.chmod(0o600)
    return Repository(location=str(tmp_path / name), password_file=secret, cache_dir=tmp_path / 'cache')


def source(tmp_path: Path) -> Path:
    folder = tmp_path / 'source'
    (folder / 'sub').mkdir(parents=True)
    (folder / 'a.txt').write_text('你好, backup\n')
    (folder / 'sub' / 'b.bin').write_bytes(os.urandom(200_000))
    return folder


def test_it_backs_up_lists_and_restores_byte_for_byte(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.init()
    data = source(tmp_path)
    seen: list[Progress] = []
    summary = repo.backup([data], tags=['enclave'], on_progress=seen.append)
    assert summary.snapshot_id and summary.files_new == 2 and summary.total_bytes_processed > 200_000
    snapshots = repo.snapshots(tag='enclave')
    assert [s.short_id for s in snapshots] == [summary.snapshot_id[:8]]
    assert snapshots[0].paths == (str(data),)

    target = tmp_path / 'restored'
    repo.restore('latest', target)
    restored = target / data.relative_to('/')
    assert (restored / 'a.txt').read_text() == '你好, backup\n'
    assert (restored / 'sub' / 'b.bin').read_bytes() == (data / 'sub' / 'b.bin').read_bytes()
    repo.check()


def test_it_adds_little_on_an_unchanged_second_backup(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.init()
    data = source(tmp_path)
    first = repo.backup([data])
    second = repo.backup([data])
    assert second.files_unmodified == 2 and second.data_added < first.data_added


def test_it_tells_a_missing_repository_from_a_wrong_password(tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFound) as missing:
        repository(tmp_path, 'nothing-here').snapshots()
    assert 'no backup repository' in missing.value.message.lower()
    assert not repository(tmp_path, 'nothing-here').exists()

    repo = repository(tmp_path)
    repo.init()
    assert repo.exists()
    wrong = Repository(location=repo.location, password_file=tmp_path / 'wrong', cache_dir=tmp_path / 'cache')
    (tmp_path / 'wrong').write_text('not the password')
    with pytest.raises(WrongPassword) as error:
        wrong.snapshots()
    assert 'recovery kit' in error.value.message


def test_it_reports_a_damaged_repository_in_check(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.init()
    repo.backup([source(tmp_path)])
    packs = sorted((Path(repo.location) / 'data').rglob('*'))
    pack = max((p for p in packs if p.is_file()), key=lambda p: p.stat().st_size)
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(bytes(raw))
    with pytest.raises(ResticError) as error:
        repo.check(read_data_subset='100%')
    assert 'damaged' in error.value.message


def test_it_refuses_to_restore_over_files(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.init()
    repo.backup([source(tmp_path)])
    target = tmp_path / 'busy'
    target.mkdir()
    (target / 'keep.txt').write_text('mine')
    with pytest.raises(ResticError):
        repo.restore('latest', target)
    assert (target / 'keep.txt').read_text() == 'mine'


def test_it_says_when_restic_is_not_installed(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.binary = 'restic-that-is-not-there'
    with pytest.raises(ResticMissing):
        repo.snapshots()


@pytest.mark.parametrize(
    ('stderr', 'kind'),
    [
        ('Fatal: unable to create lock in backend: repository is already locked by PID 7', RepositoryLocked),
        ('Fatal: unable to save snapshot: write /mnt/usb/data/1f: no space left on device', NoSpace),
        ('Fatal: wrong password or no key found', WrongPassword),
        ('Fatal: unable to open config file: stat /x/config: no such file or directory', RepositoryNotFound),
        ('ignoring error for /src: decrypting blob 0d9e failed: ciphertext verification failed', RepositoryDamaged),
        ('Fatal: load <index/470277ac95>: invalid data returned', RepositoryDamaged),
    ],
)
def test_it_names_restics_failures(stderr: str, kind: type[ResticError]) -> None:
    error = explain(1, stderr)
    assert type(error) is kind
    assert error.detail == stderr


def test_it_names_the_computer_that_holds_a_live_lock() -> None:
    error = explain(
        1,
        'unable to create lock in backend: repository is already locked exclusively by PID 11190 on other-box by '
        'root (UID 0, GID 0)\nlock was created at 2026-12-06 03:45:15 (47.2s ago)\nstorage ID 1538b34e',
    )
    assert type(error) is RepositoryLocked
    assert str(error).startswith(
        'The repository is in use by restic on the computer "other-box" (process 11190, since 2026-12-06 03:45)'
    )


def test_it_never_puts_the_password_in_the_command_line(tmp_path: Path) -> None:
    repo = repository(tmp_path, password='s3cret-pass')
    argv = repo._argv(['snapshots'])
    assert 's3cret-pass' not in ' '.join(argv)
    assert '--password-file' in argv


def _holding_restic(repo: Repository, tmp_path: Path) -> subprocess.Popen[bytes]:
    """A real restic that holds a lock: a backup from standard input, which waits for input that never comes."""
    process = subprocess.Popen(
        [*repo._argv(['backup', '--stdin', '--stdin-filename', 'pending.txt'])],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=repo._environment(),
    )
    deadline = time.monotonic() + 20
    while not repo.locks():
        assert time.monotonic() < deadline, 'restic never took its lock'
        time.sleep(0.1)
    return process


def _take_pid(pid: int) -> subprocess.Popen[bytes] | None:
    """Start another program with exactly process number `pid`, as a busy box does by chance (root only:
    /proc/sys/kernel/ns_last_pid); None when that is not possible here."""
    last_pid = Path('/proc/sys/kernel/ns_last_pid')
    for _attempt in range(5):
        try:
            last_pid.write_text(str(pid - 1))
        except OSError:
            return None
        other = subprocess.Popen(['sleep', '60'])
        if other.pid == pid:
            return other
        other.kill()
        other.wait()
    return None


def test_a_killed_restics_lock_goes_even_when_its_process_number_was_taken_by_another_program(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.init()
    holder = _holding_restic(repo, tmp_path)
    pid = holder.pid
    holder.kill()  # like a pulled power cord: its lock stays in the repository
    holder.wait()
    other = _take_pid(pid)
    if other is None:
        pytest.skip('cannot choose a process number here (needs root and /proc/sys/kernel/ns_last_pid)')
    try:
        assert [lock['pid'] for lock in repo.locks()] == [pid]
        repo.run(['unlock'])  # restic's own rule: the number is alive, so the lock stays
        with pytest.raises(RepositoryLocked):
            repo.check()
        repo.unlock()
        assert repo.locks() == []
        repo.check()
    finally:
        other.kill()
        other.wait()


def test_a_live_restics_lock_stays(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.init()
    holder = _holding_restic(repo, tmp_path)
    try:
        repo.unlock()
        assert [lock['pid'] for lock in repo.locks()] == [holder.pid]
    finally:
        holder.kill()
        holder.wait()
