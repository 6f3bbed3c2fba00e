#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL: initdb in a temp dir, listen on loopback only,
# export ENCLAVE_TEST_DATABASE_URL, run the command, stop the server and remove the folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/apt-ensure.sh" postgresql:/usr/lib/postgresql/*/bin/initdb
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
port=${ENCLAVE_PG_PORT:-55432}
dir=$(mktemp -d /tmp/enclave-pg.XXXXXX)
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  run_as=(runuser -u postgres --)
fi
cleanup() {
  "${run_as[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${run_as[@]}" "$pgbin/initdb" -D "$dir/data" -U enclave --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${run_as[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
"${run_as[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U enclave enclave_test
export ENCLAVE_TEST_DATABASE_URL="postgresql+psycopg://enclave@127.0.0.1:$port/enclave_test"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
"$@"
