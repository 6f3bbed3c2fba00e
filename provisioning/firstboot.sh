#!/bin/sh
# First boot of an Enclave appliance or bundle install. Runs as root, once (enclave-firstboot.service), and is safe
# to run again: nothing that exists is replaced. ENCLAVE_ROOT prefixes every path (tests run it in a folder).
#  1. /etc/enclave/enclave.toml (listen on a Unix socket behind nginx, https = true)
#  2. /var/lib/enclave owned by enclave, its secrets and install id (enclave migrate makes them, once)
#  3. a local CA (10 years) and a server certificate for this host's names and addresses, for nginx;
#     the CA's certificate is offered by the setup wizard at /ca.crt so browsers can trust it
#  4. the marker /var/lib/enclave/.firstboot-done
set -eu
root=${ENCLAVE_ROOT:-}
etc=$root/etc/enclave
data=$root/var/lib/enclave
enclave_bin=${ENCLAVE_BIN:-/opt/enclave/current/venv/bin/enclave}
as_enclave=${ENCLAVE_AS_USER:-runuser -u enclave --}
umask 027

mkdir -p "$etc" "$data"
# /etc/enclave can be entered (the app reads its settings, nginx the CA in tls/, which tls.sh makes); keys stay 0600.
chmod 0755 "$etc"
if [ ! -e "$etc/enclave.toml" ]; then
  cat > "$etc/enclave.toml.new" <<TOML
# Enclave settings: see /opt/enclave/current/README.md, "Configuration".
data_dir = "/var/lib/enclave"
socket = "/run/enclave/app.sock"
https = true
ca_certificate = "/etc/enclave/tls/ca.crt"
server_certificate = "/etc/enclave/tls/server.crt"
TOML
  mv "$etc/enclave.toml.new" "$etc/enclave.toml"
fi
if [ -z "$root" ] && id enclave >/dev/null 2>&1; then
  chown -R enclave:enclave "$data"
  chgrp enclave "$etc/enclave.toml"
fi
chmod 0640 "$etc/enclave.toml"
chmod 0750 "$data"

# Secrets, install id and schema: the app's own code makes each once.
ENCLAVE_DATA_DIR=$data ENCLAVE_CONFIG=$etc/enclave.toml $as_enclave "$enclave_bin" migrate >/dev/null

# The local CA and nginx's certificate.
ENCLAVE_ROOT=$root "$(dirname "$0")/tls.sh" ensure >/dev/null

touch "$data/.firstboot-done"
