#!/bin/sh
# Turn a Debian 12 root that has Enclave installed (by the bundle's install.sh) into the appliance.
# Runs inside the root at image build time (provisioning/image.py): sh setup.sh <root filesystem UUID>
# - DHCP on every Ethernet port (systemd-networkd); a static address is set from the console screen
# - nftables: only 80 and 443 come in (22 only once the admin turns SSH on from the console screen)
# - no passwords: root is locked; SSH is off and has no host keys until it is turned on
# - time sync asks no server until the admin names one; DNS resolves without listening on any port
# - the console screen on tty1 instead of a login prompt
# - nothing machine-specific baked in: no machine id, no host keys, no secrets (first boot makes them)
set -eu
root_uuid=$1
here=/opt/enclave/current/provisioning/appliance

echo enclave > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tenclave\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$root_uuid" > /etc/fstab

# Boot: a static grub.cfg that finds the root by its UUID (update-grub in a chroot would name the build's loop
# device). /vmlinuz and /initrd.img are kept pointing at the newest kernel by the kernel packages.
mkdir -p /boot/grub
cat > /boot/grub/grub.cfg <<GRUB
set timeout=2
set default=0
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root $root_uuid
menuentry "Enclave" {
  linux /vmlinuz root=UUID=$root_uuid ro quiet console=ttyS0,115200n8 console=tty0
  initrd /initrd.img
}
GRUB

# Network: DHCP by default; console.py writes a static configuration to the same file.
mkdir -p /etc/systemd/network
install -m 0644 "$here/network/50-enclave.network" /etc/systemd/network/50-enclave.network
mkdir -p /etc/systemd/resolved.conf.d /etc/systemd/timesyncd.conf.d
install -m 0644 "$here/network/resolved.conf" /etc/systemd/resolved.conf.d/enclave.conf
install -m 0644 "$here/network/timesyncd.conf" /etc/systemd/timesyncd.conf.d/enclave.conf
ln -sf ../run/systemd/resolve/resolv.conf /etc/resolv.conf
# Boot waits at most 30 s for a network (an unplugged cable must not hold the console screen for 2 minutes).
mkdir -p /etc/systemd/system/systemd-networkd-wait-online.service.d
printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30\n' \
  > /etc/systemd/system/systemd-networkd-wait-online.service.d/enclave.conf
systemctl enable --quiet systemd-networkd.service systemd-resolved.service systemd-timesyncd.service

# Firewall.
install -m 0644 "$here/nftables.conf" /etc/nftables.conf
mkdir -p /etc/enclave/firewall.d
systemctl enable --quiet nftables.service

# SSH: installed, off, no host keys (each box makes its own when the admin turns SSH on).
systemctl disable --quiet ssh.service 2>/dev/null || true
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/ssh/sshd_config.d
install -m 0644 "$here/sshd.conf" /etc/ssh/sshd_config.d/enclave.conf

# No passwords anywhere: root is locked; the console screen needs none.
usermod --lock root

# The console screen replaces the login prompt on tty1; keep the journal across reboots for support bundles.
install -m 0644 /opt/enclave/current/systemd/enclave-console.service /etc/systemd/system/enclave-console.service
systemctl disable --quiet getty@tty1.service 2>/dev/null || true
systemctl enable --quiet enclave-console.service
mkdir -p /var/log/journal

# Nothing machine-specific: systemd makes the machine id at first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
