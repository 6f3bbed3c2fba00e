#!/usr/bin/env bash
# Install Debian packages that are missing. Arguments: package:path-that-proves-it-is-installed ...
# Runs apt-get only as root and only when something is missing; otherwise says what to install.
set -euo pipefail
missing=()
for item in "$@"; do
  pkg=${item%%:*}; probe=${item#*:}
  # shellcheck disable=SC2086 # the probe may be a glob
  if ! compgen -G "$probe" >/dev/null; then missing+=("$pkg"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
