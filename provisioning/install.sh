#!/bin/sh
# Install Enclave from this offline bundle on a Debian 12 server (x86_64), as root, with no network.
#   sh install.sh            install or update to this bundle's version, then start the services
#   sh install.sh --release-only
#                            only check the bundle, add missing Debian packages and install the release in
#                            /opt/enclave/releases/<version>/ beside the running one (what an upgrade from the console
#                            does first: console/upgrade/root_helper.py switches to it and rolls back on failure)
# It checks the bundle's signature and every file's checksum before it changes anything, installs the Debian
# packages it needs from debs/, creates the system user `enclave`, puts the app in
# /opt/enclave/releases/<version>/ (its own venv) with /opt/enclave/current pointing at it, keeps data in
# /var/lib/enclave and settings in /etc/enclave, and enables the services. Running it again changes nothing.
set -eu

PUBLIC_KEY='@PUBLIC_KEY@'

here=$(cd "$(dirname "$0")" && pwd)
say() { printf 'enclave install: %s\n' "$*"; }
die() { printf 'enclave install: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (sudo sh install.sh)"
release_only=no
case ${1:-} in
  --release-only) release_only=yes ;;
  "") ;;
  *) die "unknown option $1 (sh install.sh, or sh install.sh --release-only)" ;;
esac
cd "$here"
version=$(cat VERSION)

# 1. The signature over MANIFEST, with the key this installer carries; then every file against MANIFEST.
# A minimal Debian has no openssl: then the openssl and libssl3 packages of debs/ are unpacked into a temporary
# folder (not installed), after checking them against the checksums this installer carries, and used from there.
BOOTSTRAP='@BOOTSTRAP@'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl=openssl
if ! command -v openssl >/dev/null; then
  [ -n "$BOOTSTRAP" ] || die "openssl is missing: install it first (apt-get install openssl)"
  printf '%s\n' "$BOOTSTRAP" | sha256sum --check --strict --quiet \
    || die "the bundle's openssl package does not match this installer. Nothing was installed."
  for deb in $(printf '%s\n' "$BOOTSTRAP" | cut -c67-); do dpkg-deb -x "$deb" "$work/tools"; done
  export LD_LIBRARY_PATH="$work/tools/usr/lib/x86_64-linux-gnu"
  openssl=$work/tools/usr/bin/openssl
fi
printf '%s\n' "$PUBLIC_KEY" > "$work/key.pem"
say "signing key fingerprint (sha256): $("$openssl" pkey -pubin -in "$work/key.pem" -outform DER | sha256sum | cut -c1-64)"
"$openssl" pkeyutl -verify -pubin -inkey "$work/key.pem" -rawin -in MANIFEST -sigfile MANIFEST.sig >/dev/null 2>&1 \
  || die "the bundle's signature does not match: it was altered or damaged. Nothing was installed."
unset LD_LIBRARY_PATH
sha256sum --check --strict --quiet MANIFEST || die "a file of the bundle does not match MANIFEST. Nothing was installed."
listed=$(cut -c67- MANIFEST | sort)
present=$(find . -type f ! -name MANIFEST ! -name MANIFEST.sig | sed 's|^\./||' | sort)
[ "$listed" = "$present" ] || die "the bundle holds files MANIFEST does not list. Nothing was installed."
say "bundle $version verified"

# 2. Debian packages from debs/, only those not installed at that version.
missing=""
for deb in debs/*.deb; do
  [ -e "$deb" ] || continue
  package=$(dpkg-deb -f "$deb" Package)
  wanted=$(dpkg-deb -f "$deb" Version)
  # Installed at this version or newer (a server with security updates): keep it, never downgrade.
  have=$(dpkg-query -W -f='${Status} ${Version}' "$package" 2>/dev/null || true)
  case $have in
    "install ok installed "*) dpkg --compare-versions "${have#install ok installed }" ge "$wanted" && continue ;;
  esac
  missing="$missing $here/$deb"
done
if [ -n "$missing" ]; then
  say "installing Debian packages:$(for d in $missing; do printf ' %s' "$(dpkg-deb -f "$d" Package)"; done)"
  # dpkg takes them in the order given; a package whose pre-dependency comes later in the list fails the first
  # round and goes in the next. Rounds stop when a round installs nothing new.
  remaining=$missing
  for round in 1 2 3 4 5; do
    # shellcheck disable=SC2086 # a list of paths without spaces
    DEBIAN_FRONTEND=noninteractive dpkg -i $remaining >"$work/dpkg.log" 2>&1 && { remaining=""; break; }
    next=""
    for deb in $remaining; do
      package=$(dpkg-deb -f "$deb" Package)
      [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)" = "install ok installed" ] || next="$next $deb"
    done
    [ "$next" != "$remaining" ] || break
    remaining=$next
  done
  DEBIAN_FRONTEND=noninteractive dpkg --configure -a >>"$work/dpkg.log" 2>&1 || true
  [ -z "$remaining" ] || { cat "$work/dpkg.log" >&2; die "dpkg could not install:$remaining"; }
fi
for tool in python3 restic nginx; do command -v "$tool" >/dev/null || die "$tool is still missing after the packages"; done

# 3. The system user.
if ! id enclave >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/enclave --no-create-home --shell /usr/sbin/nologin enclave
  say "created the system user enclave"
fi

# 4. The release, in its own venv (made in place: a venv cannot move), complete only once .complete exists;
# /opt/enclave/current moves to it only then, so a half-made release is never the one that runs.
release=/opt/enclave/releases/$version
if [ ! -e "$release/.complete" ]; then
  rm -rf "$release"
  mkdir -p "$release"
  python3 -m venv "$release/venv"
  "$release/venv/bin/pip" install --quiet --no-index --find-links wheels "enclave==$version" \
    || die "the app could not be installed from wheels/"
  cp -R systemd provisioning README.md VERSION "$release/"
  # The key this bundle was verified with: an upgrade must be signed with it (console/upgrade/root_helper.py).
  cp "$work/key.pem" "$release/release-key.pem"
  chmod 0644 "$release/release-key.pem"
  touch "$release/.complete"
  say "installed Enclave $version in $release"
fi
if [ $release_only = yes ]; then
  say "release $version installed beside the running one"
  exit 0
fi
if [ "$(readlink "/opt/enclave/current" 2>/dev/null || true)" != "releases/$version" ]; then
  ln -sfn "releases/$version" "/opt/enclave/current.new"
  mv -T "/opt/enclave/current.new" "/opt/enclave/current"
  say "/opt/enclave/current -> releases/$version"
fi
[ -L "/usr/local/bin/enclave" ] || ln -s /opt/enclave/current/venv/bin/enclave "/usr/local/bin/enclave"
mkdir -p "/etc/enclave" "/var/lib/enclave"
chown enclave:enclave "/var/lib/enclave"
chmod 0750 "/var/lib/enclave"

# 5. Services: the units and nginx's site, copied only when they differ.
copy_if_changed() { cmp -s "$1" "$2" 2>/dev/null || { cp "$1" "$2"; say "updated $2"; }; }
units="enclave.service enclave-firstboot.service enclave-tls.service enclave-tls.timer enclave-tls-request.path
  enclave-upgrade-request.path enclave-upgrade-recover.service"
shipped="$units enclave-tls-request.service enclave-upgrade-request.service"
for unit in $shipped; do copy_if_changed "systemd/$unit" "/etc/systemd/system/$unit"; done
if [ -d "/etc/nginx/sites-available" ]; then
  # The site includes the workers' upstream block, which enclave.service writes at every start; until the first,
  # one worker on the appliance's socket, so that nginx can start before the app ever has.
  if [ ! -e /etc/enclave/nginx-upstream.conf ]; then
    ENCLAVE_CONFIG=/dev/null ENCLAVE_SOCKET=/run/enclave/app.sock ENCLAVE_WORKERS=1 \
      /opt/enclave/current/venv/bin/enclave proxy-config --write /etc/enclave/nginx-upstream.conf >/dev/null
  fi
  copy_if_changed provisioning/nginx/enclave.conf "/etc/nginx/sites-available/enclave"
  [ -L "/etc/nginx/sites-enabled/enclave" ] || ln -s ../sites-available/enclave "/etc/nginx/sites-enabled/enclave"
  rm -f "/etc/nginx/sites-enabled/default"
fi
# Enabling works without a running systemd too (an image build's chroot): the services then start at boot.
if command -v systemctl >/dev/null; then
  enabled=""
  for unit in $units nginx.service; do
    systemctl is-enabled --quiet "$unit" 2>/dev/null || enabled="$enabled $unit"
  done
  # shellcheck disable=SC2086 # unit names have no spaces
  if [ -n "$enabled" ]; then systemctl enable --quiet $enabled && say "enabled:$enabled"; fi
fi
booted=no
if [ -d /run/systemd/system ] && [ "$(stat -c %d:%i /)" = "$(stat -c %d:%i /proc/1/root/. 2>/dev/null)" ]; then
  booted=yes
fi
if [ $booted = yes ]; then
  systemctl daemon-reload
  systemctl start enclave-firstboot.service enclave-tls.service enclave-tls.timer enclave-tls-request.path \
    enclave-upgrade-request.path
  systemctl restart nginx.service
  systemctl start enclave.service
  say "started; open https://$(hostname -I 2>/dev/null | cut -d' ' -f1)/ to finish the setup"
else
  say "installed; the services start at the next boot (or run provisioning/firstboot.sh, then start them)"
fi
