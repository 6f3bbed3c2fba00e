#!/bin/sh
# The root side of an upgrade or rollback the admin asked for in the console (enclave-upgrade-request.service), and
# the boot-time recovery of one a power cut interrupted (enclave-upgrade-recover.service):
#   upgrade.sh request    carry out /var/lib/enclave/upgrade-request/request (after finishing an interrupted one)
#   upgrade.sh recover    roll back an upgrade the journal says is unfinished; the boot then starts the app
# The work is console/upgrade/root_helper.py, run with the python of the release running now, resolved once: while
# it switches `current` it must not start loading code from the other release.
set -eu
release=$(readlink -f /opt/enclave/current)
exec "$release/venv/bin/python" -I -m console.upgrade.root_helper "$@"
