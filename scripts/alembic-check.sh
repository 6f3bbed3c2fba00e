#!/usr/bin/env bash
# `alembic check`: the models and the migrations agree. Runs on a scratch SQLite database.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export ENCLAVE_DATA_DIR="$dir" ENCLAVE_CONFIG="$dir/enclave.toml"
"$bin/enclave" migrate >/dev/null
"$bin/alembic" check
