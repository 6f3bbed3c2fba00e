#!/bin/sh
# First boot of an Enclave appliance or bundle install. Runs as root, once (enclave-firstboot.service), and is safe
# to run again: nothing that exists is replaced. ENCLAVE_ROOT prefixes every path (tests run it in a folder).
#  1. /etc/enclave/enclave.toml (listen on loopback behind nginx, https = true)
#  2. /var/lib/enclave owned by enclave, its secrets and install id (enclave migrate makes them, once)
#  3. a local CA (10 years) and a server certificate for this host's names and addresses, for nginx;
#     the CA's certificate is offered by the setup wizard at /ca.crt so browsers can trust it
#  4. the marker /var/lib/enclave/.firstboot-done
set -eu
root=${ENCLAVE_ROOT:-}
etc=$root/etc/enclave
data=$root/var/lib/enclave
tls=$etc/tls
enclave_bin=${ENCLAVE_BIN:-/opt/enclave/current/venv/bin/enclave}
as_enclave=${ENCLAVE_AS_USER:-runuser -u enclave --}
umask 027

mkdir -p "$etc" "$tls" "$data"
if [ ! -e "$etc/enclave.toml" ]; then
  cat > "$etc/enclave.toml.new" <<TOML
# Enclave settings: see /opt/enclave/current/README.md, "Configuration".
data_dir = "/var/lib/enclave"
host = "127.0.0.1"
port = 8080
https = true
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
if [ ! -e "$tls/ca.key" ]; then
  # Ed25519 is not accepted by every browser for TLS yet: the CA and the server key are EC P-256.
  openssl ecparam -name prime256v1 -genkey -noout -out "$tls/ca.key.new"
  openssl req -x509 -new -key "$tls/ca.key.new" -sha256 -days 3650 -subj "/O=Enclave/CN=Enclave local CA $(hostname)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tls/ca.crt.new"
  mv "$tls/ca.crt.new" "$tls/ca.crt"
  mv "$tls/ca.key.new" "$tls/ca.key"
fi
if [ ! -e "$tls/server.key" ]; then
  names="DNS:$(hostname),DNS:localhost,IP:127.0.0.1"
  for address in $(hostname -I 2>/dev/null || true); do names="$names,IP:$address"; done
  openssl ecparam -name prime256v1 -genkey -noout -out "$tls/server.key.new"
  openssl req -new -key "$tls/server.key.new" -subj "/O=Enclave/CN=$(hostname)" -out "$tls/server.csr"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$names" > "$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -sha256 \
    -days 825 -extfile "$tls/server.ext" -out "$tls/server.crt.new" 2>/dev/null
  mv "$tls/server.crt.new" "$tls/server.crt"
  mv "$tls/server.key.new" "$tls/server.key"
  rm -f "$tls/server.csr" "$tls/server.ext"
fi
chmod 0600 "$tls/ca.key" "$tls/server.key"
chmod 0644 "$tls/ca.crt" "$tls/server.crt"

touch "$data/.firstboot-done"
