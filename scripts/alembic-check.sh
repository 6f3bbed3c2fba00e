#!/usr/bin/env bash
# `alembic check`: the models and the migrations agree. Runs on a scratch SQLite database.
# First: alembic.ini lists the same migration folders (version_locations) as `enclave migrate` finds in the
# installed modules (appliance/migrate.py version_locations()), so the alembic command sees the whole history.
set -euo pipefail
bin=$1
"$bin/python" - <<'PY'
import configparser
import sys
from pathlib import Path

from appliance.migrate import version_locations

ini = configparser.ConfigParser(interpolation=None)
ini.read('alembic.ini')
here = str(Path.cwd())
listed = [Path(item.replace('%(here)s', here)).resolve() for item in ini['alembic']['version_locations'].split()]
found = [folder.resolve() for folder in version_locations()]
if listed != found:
    sys.exit(f'alembic.ini version_locations lists {listed}, but the installed modules have {found}: update alembic.ini.')
PY
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export ENCLAVE_DATA_DIR="$dir" ENCLAVE_CONFIG="$dir/enclave.toml"
"$bin/enclave" migrate >/dev/null
"$bin/alembic" check
