"""Build the appliance image: `python -m provisioning.image --signing-key KEY` (as root; `make image`).

Outputs in `dist/` (or `--out`):
- `enclave-<version>.qcow2`: the disk, compressed (Proxmox, KVM, libvirt);
- `enclave-<version>.ova`: OVF 1.0 descriptor, a manifest of SHA256 sums and the disk as a streamOptimized VMDK,
  with BIOS boot, a PIIX4 IDE disk and an E1000 NIC, so VMware and VirtualBox both import it;
- `enclave-<version>-bundle.tar`: the offline install bundle the image was installed from;
- `SHA256SUMS` for all three.

The root is made by mmdebstrap from Debian 12 packages only (the Debian mirror is the one network access of the
build). The app goes in the way a customer's server gets it: the bundle's signed `install.sh` runs in the root, so
every image build proves the bundle. `provisioning/appliance/setup.sh` then makes it an appliance (network,
firewall, console screen, no passwords, no host keys or machine id baked in). The disk is one MBR partition (ext4,
filled with `mkfs.ext4 -d` at its offset in the disk file), GRUB for BIOS written into the MBR and the gap before
the partition by `install_boot_loader` (as grub-bios-setup does, but with no loop device to probe), with a static
grub.cfg that finds the root by its filesystem UUID.
Every step has a time limit; the build log names the step that failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import bundle
from provisioning.bundle import run

REPO = Path(__file__).resolve().parents[1]
SUITE = 'bookworm'
MIRRORS = (
    'deb http://deb.debian.org/debian bookworm main',
    'deb http://deb.debian.org/debian bookworm-updates main',
    'deb http://deb.debian.org/debian-security bookworm-security main',
)
# The appliance's own packages; what the app needs (python3, nginx, restic, nftables, ...) comes from the bundle.
PACKAGES = (
    'linux-image-amd64', 'initramfs-tools', 'zstd', 'systemd-sysv', 'udev', 'dbus', 'libpam-systemd', 'kmod',
    'iproute2', 'systemd-resolved', 'systemd-timesyncd', 'openssh-server', 'procps', 'less', 'ncurses-term',
    'e2fsprogs', 'netbase',
)  # fmt: skip
DISK_BYTES = 20 * 1024**3
PARTITION_START = 1024 * 1024
MEMORY_MIB = 4096
CPUS = 2


def make_root(root: Path, bundle_tar: Path, root_uuid: str, mirrors: tuple[str, ...]) -> None:
    """The image's root: Debian 12 with a kernel, then the bundle installed by its own install.sh, then setup.sh."""
    folder = bundle_tar.name.removesuffix('-bundle.tar')
    install = f'cd /var/tmp && tar -xf {bundle_tar.name} && sh {folder}/install.sh && rm -rf {folder} {bundle_tar.name}'
    setup = f'sh /opt/enclave/current/provisioning/appliance/setup.sh {root_uuid}'
    run(
        [
            'mmdebstrap', '--variant=minbase', '--mode=root', '--format=directory',
            '--aptopt=APT::Install-Recommends "false"', f'--include={",".join(PACKAGES)}',
            f'--customize-hook=copy-in {bundle_tar} /var/tmp',
            f'--customize-hook=chroot "$1" sh -c "{install}"',
            f'--customize-hook=chroot "$1" {setup}',
            SUITE, str(root), *mirrors,
        ],
        timeout=1800,
    )  # fmt: skip


GRUB_DIR = Path('/usr/lib/grub/i386-pc')
# What core.img must hold to find /boot/grub by itself: the BIOS disk driver, the MBR partition map, ext4 and the
# UUID search; everything else (normal, linux, ...) it loads from /boot/grub/i386-pc on the root.
GRUB_CORE_MODULES = ('biosdisk', 'part_msdos', 'ext2', 'search_fs_uuid')
SECTOR = 512
# boot.img's fields that grub-bios-setup patches (grub-core/boot/i386/pc/boot.S, include/grub/i386/pc/boot.h).
BOOT_KERNEL_SECTOR = 0x5C  # 64-bit LBA of core.img's first sector
BOOT_DRIVE = 0x64  # 0xFF: use the drive the BIOS booted from
BOOT_DRIVE_CHECK = 0x66  # a jump that hard disks replace with two NOPs
BOOT_CODE_END = 0x1B8  # boot code ends here; the disk signature and partition table follow
# core.img's first sector (diskboot.img) ends with a blocklist {u64 start, u16 sectors, u16 segment} read upwards.
BLOCKLIST = SECTOR - 12
CORE_SEGMENT = 0x820  # where diskboot loads the rest: GRUB_BOOT_I386_PC_KERNEL_SEG + one sector


def make_core_image(root_uuid: str, target: Path, grub_dir: Path = GRUB_DIR) -> Path:
    """GRUB's core.img for BIOS, with an early config that finds the root filesystem by its UUID and takes
    /boot/grub there as its prefix (what grub-install embeds when it cannot name a BIOS drive)."""
    early = target.with_suffix('.cfg')
    early.write_text(f'search.fs_uuid {root_uuid} root\nset prefix=($root)/boot/grub\n')
    run(
        ['grub-mkimage', '-O', 'i386-pc', '-d', str(grub_dir), '-c', str(early), '-p', '/boot/grub',
         '-o', str(target), *GRUB_CORE_MODULES],
        timeout=120,
    )  # fmt: skip
    return target


def install_boot_loader(raw: Path, core_img: Path, grub_dir: Path = GRUB_DIR) -> None:
    """Write GRUB into a disk file the way grub-bios-setup embeds it, without asking the host how it names disks:
    boot.img's code into the MBR (the partition table kept), core.img into the gap before the first partition
    (sector 1 on), boot.img pointed at sector 1 and diskboot's blocklist at the rest of core.img."""
    boot = bytearray((grub_dir / 'boot.img').read_bytes())
    core = bytearray(core_img.read_bytes())
    if len(boot) != SECTOR:
        raise SystemExit(f'{grub_dir / "boot.img"} is not one sector: reinstall the Debian package grub-pc-bin')
    core += bytes(-len(core) % SECTOR)
    sectors = len(core) // SECTOR
    with raw.open('r+b') as disk:
        mbr = bytearray(disk.read(SECTOR))
        if mbr[510:512] != b'\x55\xaa':
            raise SystemExit(f'{raw} has no MBR partition table: partition it before installing the boot loader')
        starts = [
            int.from_bytes(mbr[entry + 8 : entry + 12], 'little')
            for entry in range(0x1BE, 0x1FE, 16)
            if mbr[entry + 4] != 0
        ]
        if not starts or 1 + sectors > min(starts):
            raise SystemExit(f'core.img ({sectors} sectors) does not fit before the first partition of {raw}')
        # grub-bios-setup: the blocklist names sectors 2.. (sector 1 is diskboot itself, which boot.img loads),
        # loaded at segment 0x820; the entry below it stays zero as the terminator.
        if core[BLOCKLIST - 12 : BLOCKLIST] != bytes(12):
            raise SystemExit(f'{core_img} has no blocklist terminator: was it made by grub-mkimage -O i386-pc?')
        core[BLOCKLIST : BLOCKLIST + 12] = (
            (2).to_bytes(8, 'little') + (sectors - 1).to_bytes(2, 'little') + CORE_SEGMENT.to_bytes(2, 'little')
        )
        boot[BOOT_KERNEL_SECTOR : BOOT_KERNEL_SECTOR + 8] = (1).to_bytes(8, 'little')
        boot[BOOT_DRIVE] = 0xFF
        boot[BOOT_DRIVE_CHECK : BOOT_DRIVE_CHECK + 2] = b'\x90\x90'
        mbr[:BOOT_CODE_END] = boot[:BOOT_CODE_END]
        disk.seek(0)
        disk.write(mbr)
        disk.write(core)


def copy_grub_modules(root: Path, grub_dir: Path = GRUB_DIR) -> None:
    """GRUB's modules where core.img's prefix points ($root/boot/grub/i386-pc), as grub-install copies them."""
    target = root / 'boot' / 'grub' / 'i386-pc'
    target.mkdir(parents=True, exist_ok=True)
    for path in grub_dir.iterdir():
        if path.suffix in ('.mod', '.lst'):
            shutil.copy2(path, target / path.name)


@contextmanager
def mounted_root(raw: Path, mount_point: Path, *, read_only: bool) -> Iterator[Path]:
    """The disk file's root partition mounted by its offset (a loop device without partition nodes, so nothing
    depends on how the host probes loop partitions)."""
    options = f'loop,offset={PARTITION_START}' + (',ro' if read_only else '')
    mount_point.mkdir(exist_ok=True)
    run(['mount', '-o', options, str(raw), str(mount_point)], timeout=60)
    try:
        yield mount_point
    finally:
        run(['umount', str(mount_point)], timeout=120)


def make_disk(root: Path, raw: Path, root_uuid: str) -> None:
    """A sparse raw disk: an MBR, one bootable ext4 partition holding the root, GRUB in the MBR gap. All of it is
    written into the file itself (mkfs.ext4 at the partition's offset, GRUB's images at theirs): no loop device."""
    with raw.open('wb') as handle:
        handle.truncate(DISK_BYTES)
    run(
        ['sfdisk', '--quiet', str(raw)],
        timeout=60,
        input=f'label: dos\nstart={PARTITION_START // 512}, type=83, bootable\n',
    )
    copy_grub_modules(root)
    size_kib = (DISK_BYTES - PARTITION_START) // 1024
    run(
        ['mkfs.ext4', '-q', '-F', '-L', 'enclave', '-U', root_uuid, '-d', str(root),
         '-E', f'offset={PARTITION_START}', str(raw), f'{size_kib}k'],
        timeout=900,
    )  # fmt: skip
    install_boot_loader(raw, make_core_image(root_uuid, raw.with_name('core.img')))


def unmount_below(folder: Path) -> None:
    """Unmount whatever is still mounted under `folder`, deepest first: a build stopped halfway can leave
    mmdebstrap's /proc, /sys and /dev mounts or the disk's partition in it."""
    mounts = [line.split()[1] for line in Path('/proc/mounts').read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(f'{folder}/')), key=len, reverse=True):
        subprocess.run(['umount', '--lazy', point], capture_output=True, check=False, timeout=60)  # noqa: S603, S607


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A work folder under /var/tmp, removed at the end only once nothing is mounted in it (deleting through a
    leftover bind mount would reach the host's own files)."""
    work = Path(tempfile.mkdtemp(dir='/var/tmp', prefix='enclave-image.'))
    try:
        yield work
    finally:
        unmount_below(work)
        if any(line.split()[1].startswith(f'{work}/') for line in Path('/proc/mounts').read_text().splitlines()):
            print(f'warning: {work} still has mounts; left in place for you to check')
        else:
            shutil.rmtree(work, ignore_errors=True)


def sha256(path: Path) -> str:
    with path.open('rb') as handle:
        return hashlib.file_digest(handle, 'sha256').hexdigest()


OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
 xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:id="file1" ovf:href="{vmdk}" ovf:size="{vmdk_size}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="{capacity}" ovf:capacityAllocationUnits="byte"
     ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="LAN">
      <Description>The office network the appliance serves</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>Enclave {version}, a self-hosted team workspace</Info>
    <Name>{name}</Name>
    <ProductSection>
      <Info>Product</Info>
      <Product>Enclave</Product>
      <Version>{version}</Version>
    </ProductSection>
    <OperatingSystemSection ovf:id="96">
      <Info>The guest operating system</Info>
      <Description>Debian GNU/Linux 12 (64-bit)</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>{cpus} CPUs, {memory} MiB of memory, an IDE disk and an E1000 network card; BIOS boot</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-10 virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of virtual CPUs</rasd:Description>
        <rasd:ElementName>{cpus} virtual CPUs</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{cpus}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory size</rasd:Description>
        <rasd:ElementName>{memory} MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{memory}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>IDE Controller</rasd:Description>
        <rasd:ElementName>ideController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>
        <rasd:ResourceType>5</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>disk0</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>LAN</rasd:Connection>
        <rasd:Description>E1000 ethernet adapter on "LAN"</rasd:Description>
        <rasd:ElementName>ethernet0</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""


def make_ova(raw: Path, out: Path, name: str, version: str) -> Path:
    """OVF 1.0 + streamOptimized VMDK + .mf, in a ustar tar with the descriptor first and the manifest second."""
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        folder = Path(scratch)
        vmdk = folder / f'{name}-disk1.vmdk'
        run(['qemu-img', 'convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', str(raw), str(vmdk)], timeout=1200)
        ovf = folder / f'{name}.ovf'
        ovf.write_text(
            OVF.format(
                vmdk=vmdk.name, vmdk_size=vmdk.stat().st_size, capacity=DISK_BYTES, name=name, version=version,
                cpus=CPUS, memory=MEMORY_MIB,
            )
        )  # fmt: skip
        mf = folder / f'{name}.mf'
        mf.write_text(''.join(f'SHA256({path.name})= {sha256(path)}\n' for path in (ovf, vmdk)))
        target = out / f'{name}.ova'
        partial = target.with_suffix('.ova.partial')
        with tarfile.open(partial, 'w', format=tarfile.USTAR_FORMAT) as archive:
            for path in (ovf, mf, vmdk):
                info = archive.gettarinfo(str(path), arcname=path.name)
                info.uid = info.gid = 0
                info.uname = info.gname = 'root'
                info.mode = 0o644
                with path.open('rb') as handle:
                    archive.addfile(info, handle)
        partial.replace(target)
    return target


def build(*, out: Path, key: Ed25519PrivateKey, mirrors: tuple[str, ...] = MIRRORS) -> list[Path]:
    """The bundle, the root, the disk, then the qcow2 and the OVA; returns the artefacts."""
    if os.geteuid() != 0:
        raise SystemExit('building the image needs root (mmdebstrap, loop devices, mount)')
    out.mkdir(parents=True, exist_ok=True)
    version = bundle.version()
    name = f'enclave-{version}'
    started = time.monotonic()
    with scratch_folder() as work:
        minimal = work / 'minbase'
        bundle.minimal_root(minimal)
        bundle_tar = bundle.assemble(out=out, key=key, debs_from=minimal)
        shutil.rmtree(minimal)
        root = work / 'root'
        root_uuid = str(uuid.uuid4())
        make_root(root, bundle_tar, root_uuid, mirrors)
        raw = work / 'disk.raw'
        make_disk(root, raw, root_uuid)
        shutil.rmtree(root)
        qcow2 = out / f'{name}.qcow2'
        partial = out / f'{name}.qcow2.partial'
        # Both conversions compress on one core each: the qcow2 runs beside the OVA's VMDK.
        qcow2_argv = ['qemu-img', 'convert', '-c', '-O', 'qcow2', str(raw), str(partial)]
        print('+', ' '.join(qcow2_argv), '(in the background)', flush=True)
        with subprocess.Popen(qcow2_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as converting:  # noqa: S603
            ova = make_ova(raw, out, name, version)
            output, _ = converting.communicate(timeout=1800)
        if converting.returncode != 0:
            raise SystemExit(f'build step failed ({converting.returncode}): {" ".join(qcow2_argv)}\n{output}')
        partial.replace(qcow2)
    artefacts = [qcow2, ova, bundle_tar]
    (out / 'SHA256SUMS').write_text(''.join(f'{sha256(path)}  {path.name}\n' for path in artefacts))
    print(f'image built in {time.monotonic() - started:.0f} s')
    for path in artefacts:
        print(f'  {path}  {path.stat().st_size / 1024**2:.0f} MiB')
    return artefacts


def main() -> None:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--signing-key', type=Path, required=True, help='Ed25519 private key (PEM) for the bundle')
    parser.add_argument('--out', type=Path, default=REPO / 'dist')
    args = parser.parse_args()
    key = serialization.load_pem_private_key(args.signing_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f'{args.signing_key} is not an Ed25519 private key')
    bundle.warn_unless_release_key(key)
    # A stop (Ctrl-C, SIGTERM, a CI timeout) unwinds like an error: mounts and loop devices are released.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    build(out=args.out, key=key)


if __name__ == '__main__':
    main()
