#!/bin/sh
# nginx's TLS certificate. Runs as root. ENCLAVE_ROOT prefixes the paths (tests run it in a folder).
#   tls.sh ensure             the local CA (once, 10 years, EC P-256) and a server certificate it signs for this
#                             host's names and addresses; issued again when an address is missing from it.
#                             Nothing happens while the admin's own certificate is in use.
#   tls.sh install CERT KEY   use the admin's own certificate (PEM, chain allowed) and key instead; refused, with
#                             nothing changed, unless the key matches, the certificate is valid now, and nginx
#                             accepts it
#   tls.sh local              back to a certificate from the local CA
#   tls.sh request DIR        what the app asked for in DIR (enclave-tls-request.service, root, when DIR/request
#                             appears): `install` (DIR/cert.pem, DIR/key.pem) or `local`. Writes DIR/result
#                             (`ok` or `error`, then a sentence) and removes the request and the key. The app owns DIR:
#                             nothing there is trusted, symlinks are refused, the unit may write only where it must.
# nginx is reloaded when it runs and the certificate changed.
set -eu
tls=${ENCLAVE_ROOT:-}/etc/enclave/tls
umask 077
mkdir -p "$tls"
chmod 0755 "$tls"  # nginx serves ca.crt from here; the keys are 0600
die() { printf 'enclave tls: %s\n' "$*" >&2; exit 1; }

reload_nginx() {
  [ -z "${ENCLAVE_ROOT:-}" ] || return 0
  if systemctl is-active --quiet nginx.service 2>/dev/null; then systemctl reload nginx.service; fi
}

# The names and addresses the certificate must carry.
wanted_names() {
  printf 'DNS:%s\nDNS:localhost\nIP:127.0.0.1\n' "$(hostname)"
  for address in $(hostname -I 2>/dev/null || true); do printf 'IP:%s\n' "$address"; done
}

# The names the current certificate carries, one per line, in wanted_names' spelling.
cert_names() {
  openssl x509 -in "$tls/server.crt" -noout -ext subjectAltName 2>/dev/null \
    | tail -n +2 | tr ',' '\n' | sed 's/^ *//; s/IP Address:/IP:/' | grep -v '^$' || true
}

make_ca() {
  [ -e "$tls/ca.key" ] && return 0
  # Ed25519 is not accepted by every browser for TLS yet: the CA and the server key are EC P-256.
  openssl ecparam -name prime256v1 -genkey -noout -out "$tls/ca.key.new"
  openssl req -x509 -new -key "$tls/ca.key.new" -sha256 -days 3650 -subj "/O=Enclave/CN=Enclave local CA $(hostname)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$tls/ca.crt.new"
  chmod 0644 "$tls/ca.crt.new"
  mv "$tls/ca.crt.new" "$tls/ca.crt"
  mv "$tls/ca.key.new" "$tls/ca.key"
}

issue_local() {
  names=$(wanted_names | paste -sd, -)
  openssl ecparam -name prime256v1 -genkey -noout -out "$tls/server.key.new"
  openssl req -new -key "$tls/server.key.new" -subj "/O=Enclave/CN=$(hostname)" -out "$tls/server.csr"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$names" > "$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -sha256 \
    -days 825 -extfile "$tls/server.ext" -out "$tls/server.crt.new" 2>/dev/null
  chmod 0644 "$tls/server.crt.new"
  mv "$tls/server.key.new" "$tls/server.key"
  mv "$tls/server.crt.new" "$tls/server.crt"
  rm -f "$tls/server.csr" "$tls/server.ext"
}

# True when the certificate is valid for 30 more days and names every IPv4 address and host name wanted now
# (IPv6 is issued too but not compared: openssl spells it differently from `hostname -I`).
covered() {
  [ -e "$tls/server.crt" ] && [ -e "$tls/server.key" ] || return 1
  openssl x509 -in "$tls/server.crt" -noout -checkend 2592000 >/dev/null || return 1
  have=$(cert_names)
  for name in $(wanted_names); do
    case $name in IP:*:*) continue ;; esac
    printf '%s\n' "$have" | grep -qxF "$name" || return 1
  done
}

ensure() {
  make_ca
  [ ! -e "$tls/own" ] || return 0
  covered && return 0
  issue_local
  reload_nginx
  echo "enclave tls: issued a certificate for $(wanted_names | paste -sd' ' -)"
}

install_own() {
  cert=$1 key=$2
  for file in "$cert" "$key"; do
    [ -f "$file" ] && [ ! -L "$file" ] || die "$file is not a regular file"
    [ "$(wc -c < "$file")" -le 65536 ] || die "$file is larger than 64 KiB: not a PEM certificate or key"
  done
  openssl x509 -in "$cert" -noout 2>/dev/null || die "the certificate is not a PEM certificate"
  openssl pkey -in "$key" -noout 2>/dev/null || die "the key is not an unencrypted PEM private key"
  [ "$(openssl x509 -in "$cert" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
    "$(openssl pkey -in "$key" -pubout -outform DER | sha256sum)" ] || die "the key does not belong to the certificate"
  openssl x509 -in "$cert" -noout -checkend 0 >/dev/null || die "the certificate has expired"
  cp "$cert" "$tls/own.crt.new" && cp "$key" "$tls/own.key.new"
  for name in server.crt server.key; do [ ! -e "$tls/$name" ] || cp -p "$tls/$name" "$tls/$name.before"; done
  chmod 0644 "$tls/own.crt.new"
  mv "$tls/own.key.new" "$tls/server.key"
  mv "$tls/own.crt.new" "$tls/server.crt"
  if [ -z "${ENCLAVE_ROOT:-}" ] && command -v nginx >/dev/null && ! nginx -t >/dev/null 2>&1; then
    mv "$tls/server.crt.before" "$tls/server.crt"
    mv "$tls/server.key.before" "$tls/server.key"
    die "nginx does not accept this certificate; the previous one stays"
  fi
  rm -f "$tls/server.crt.before" "$tls/server.key.before"
  touch "$tls/own"
  reload_nginx
  echo "enclave tls: now using $(openssl x509 -in "$tls/server.crt" -noout -subject)"
}

use_local() {
  make_ca
  rm -f "$tls/own"
  issue_local
  reload_nginx
  echo "enclave tls: back to the local CA's certificate"
}

request() {
  dir=$1
  [ -d "$dir" ] && [ ! -L "$dir" ] || die "$dir is not a folder"
  [ -f "$dir/request" ] && [ ! -L "$dir/request" ] || die "no request in $dir"
  action=$(head -c 16 "$dir/request" | tr -dc 'a-z')
  work=$(mktemp -d)
  case $action in
    install)
      # Copies, not the files themselves: a symlink stays a symlink (and is refused), a later swap changes nothing.
      cp -P "$dir/cert.pem" "$work/cert.pem" 2>/dev/null || true
      cp -P "$dir/key.pem" "$work/key.pem" 2>/dev/null || true
      if said=$(install_own "$work/cert.pem" "$work/key.pem" 2>&1); then outcome=ok; else outcome=error; fi ;;
    local)
      if said=$(use_local 2>&1); then outcome=ok; else outcome=error; fi ;;
    *) outcome=error said="unknown request" ;;
  esac
  printf '%s\n%s\n' "$outcome" "$(printf '%s\n' "$said" | tail -n 1 | sed 's/^enclave tls: //' | cut -c1-300)" \
    > "$work/result"
  chmod 0644 "$work/result"
  rm -f "$dir/key.pem" "$dir/cert.pem"
  mv -T "$work/result" "$dir/result"
  rm -f "$dir/request"
  rm -rf "$work"
  echo "enclave tls: request '$action': $outcome"
}

case "${1:-}" in
  ensure) ensure ;;
  install) [ $# -eq 3 ] || die "usage: tls.sh install CERT.pem KEY.pem"; install_own "$2" "$3" ;;
  local) use_local ;;
  request) [ $# -eq 2 ] || die "usage: tls.sh request DIR"; request "$2" ;;
  *) die "usage: tls.sh ensure | install CERT.pem KEY.pem | local | request DIR" ;;
esac
