"""GRUB written into a disk file by the image build (issue 11, item 5): no loop device, no grub-install, so the
build does not depend on how the host names loop partitions. Checked on a small sparse disk: the MBR keeps its
partition table and points at core.img in the gap, diskboot's blocklist names the rest of core.img, and GRUB's
own tools find the partition, the filesystem by its UUID and grub.cfg in it. (`make image-test` boots the real
image under qemu.)"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from provisioning import image

MIB = 1024 * 1024
# What the test disk's GRUB does once it has found its root by UUID and read this file: says so on the serial port.
GRUB_CFG = 'serial --unit=0 --speed=115200\nterminal_output serial\necho "grub.cfg read from ($root)"\nsleep 60\n'


def sh(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f'{argv}: {done.stdout}{done.stderr}'
    return done  # type: ignore[no-any-return]


def partitioned(raw: Path, start_sector: int = image.PARTITION_START // 512, size_mib: int = 32) -> Path:
    for tool in ('sfdisk', 'mkfs.ext4', 'grub-mkimage', 'grub-fstest'):
        assert shutil.which(tool), f'{tool} is missing: make test-system-deps installs it'
    with raw.open('wb') as handle:
        handle.truncate(size_mib * MIB)
    sh(
        ['sfdisk', '--quiet', str(raw)],
        input=f'label: dos\nlabel-id: 0x1234abcd\nstart={start_sector}, type=83, bootable\n',
    )
    return raw


@pytest.fixture
def disk(tmp_path: Path) -> tuple[Path, str]:
    """A 32 MiB disk laid out as the image's: MBR, one ext4 partition at 1 MiB holding /boot/grub, GRUB installed."""
    raw = partitioned(tmp_path / 'disk.raw')
    root = tmp_path / 'root'
    (root / 'boot' / 'grub').mkdir(parents=True)
    (root / 'boot' / 'grub' / 'grub.cfg').write_text(GRUB_CFG)
    root_uuid = str(uuid.uuid4())
    image.copy_grub_modules(root)
    size_kib = (32 * MIB - image.PARTITION_START) // 1024
    sh(['mkfs.ext4', '-q', '-F', '-U', root_uuid, '-d', str(root), '-E', f'offset={image.PARTITION_START}', str(raw),
        f'{size_kib}k'])  # fmt: skip
    image.install_boot_loader(raw, image.make_core_image(root_uuid, tmp_path / 'core.img'))
    return raw, root_uuid


def test_it_writes_grub_into_the_mbr_and_the_gap_as_grub_setup_does(disk: tuple[Path, str], tmp_path: Path) -> None:
    raw, _ = disk
    data = raw.read_bytes()[: image.PARTITION_START]
    boot = (image.GRUB_DIR / 'boot.img').read_bytes()
    core = (tmp_path / 'core.img').read_bytes()
    sectors = -(-len(core) // 512)
    mbr = data[:512]
    # boot.img's code, patched: core.img starts at sector 1, the boot drive is the BIOS's, the drive check is off.
    assert mbr[: image.BOOT_KERNEL_SECTOR] == boot[: image.BOOT_KERNEL_SECTOR]
    assert int.from_bytes(mbr[0x5C:0x64], 'little') == 1
    assert mbr[0x64] == 0xFF
    assert mbr[0x66:0x68] == b'\x90\x90'
    assert mbr[0x68:0x1B8] == boot[0x68:0x1B8]
    # The disk signature and the partition table sfdisk wrote are kept: one bootable Linux partition at 1 MiB.
    assert mbr[0x1B8:0x1BC] == bytes.fromhex('cdab3412')
    assert mbr[0x1BE] == 0x80 and mbr[0x1BE + 4] == 0x83
    assert int.from_bytes(mbr[0x1BE + 8 : 0x1BE + 12], 'little') == 2048
    assert mbr[510:512] == b'\x55\xaa'
    # core.img in sectors 1.., its first sector's blocklist naming sectors 2..: loaded at 0x820, then a terminator.
    written = data[512 : 512 + sectors * 512]
    assert written[: image.BLOCKLIST] == core[: image.BLOCKLIST]
    assert written[512 : len(core)] == core[512:]
    assert int.from_bytes(written[500:508], 'little') == 2
    assert int.from_bytes(written[508:510], 'little') == sectors - 1
    assert int.from_bytes(written[510:512], 'little') == 0x820
    assert written[488:500] == bytes(12)
    assert data[512 + sectors * 512 :] == bytes(image.PARTITION_START - 512 - sectors * 512)


def test_it_leaves_a_disk_grub_finds_the_root_and_grub_cfg_on(disk: tuple[Path, str]) -> None:
    raw, root_uuid = disk
    # GRUB's own drivers (the ones in core.img: part_msdos, ext2) read the disk file, which grub-fstest calls loop0.
    listing = sh(['grub-fstest', str(raw), 'ls', '(loop0,msdos1)/boot/grub/']).stdout
    assert 'grub.cfg' in listing and 'i386-pc/' in listing
    assert sh(['grub-fstest', str(raw), 'cat', '(loop0,msdos1)/boot/grub/grub.cfg']).stdout == GRUB_CFG
    assert 'linux.mod' in sh(['grub-fstest', str(raw), 'ls', '(loop0,msdos1)/boot/grub/i386-pc/']).stdout
    probed = sh(['blkid', '--probe', '--offset', str(image.PARTITION_START), '-s', 'UUID', '-o', 'value', str(raw)])
    assert probed.stdout.strip() == root_uuid


def test_it_boots_under_a_bios_to_the_grub_cfg_on_the_root(disk: tuple[Path, str], tmp_path: Path) -> None:
    raw, _ = disk
    qemu = shutil.which('qemu-system-x86_64')
    assert qemu, 'qemu-system-x86_64 is missing: make test-system-deps installs it (Debian package qemu-system-x86)'
    serial = tmp_path / 'serial.log'
    argv = [qemu, '-machine', 'pc,accel=tcg', '-m', '64', '-display', 'none', '-no-reboot', '-nodefaults',
            '-drive', f'file={raw},format=raw,if=ide', '-serial', f'file:{serial}']  # fmt: skip
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as vm:
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and vm.poll() is None:
                if b'grub.cfg read from (hd0,msdos1)' in (serial.read_bytes() if serial.exists() else b''):
                    break
                time.sleep(0.5)
        finally:
            vm.kill()
    assert b'grub.cfg read from (hd0,msdos1)' in serial.read_bytes(), serial.read_bytes()[-2000:]


def test_it_refuses_a_disk_whose_first_partition_leaves_no_room_and_changes_nothing(tmp_path: Path) -> None:
    raw = partitioned(tmp_path / 'disk.raw', start_sector=8)
    before = raw.read_bytes()[: 8 * 512]
    core = image.make_core_image(str(uuid.uuid4()), tmp_path / 'core.img')
    with pytest.raises(SystemExit, match=r'does not fit before the first partition'):
        image.install_boot_loader(raw, core)
    assert raw.read_bytes()[: 8 * 512] == before


def test_it_refuses_a_disk_without_a_partition_table(tmp_path: Path) -> None:
    raw = tmp_path / 'blank.raw'
    with raw.open('wb') as handle:
        handle.truncate(4 * MIB)
    core = image.make_core_image(str(uuid.uuid4()), tmp_path / 'core.img')
    with pytest.raises(SystemExit, match=r'no MBR partition table'):
        image.install_boot_loader(raw, core)
    assert raw.read_bytes() == bytes(4 * MIB)
