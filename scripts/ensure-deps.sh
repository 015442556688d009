#!/usr/bin/env bash
# Makes sure the machine has what the test suite starts for real:
# PostgreSQL 15's server binaries (a throwaway cluster is started by the tests)
# OpenLDAP's slapd (a throwaway directory server for the LDAP sync tests)
# and Chromium (the headless browser the compliance pages are tested in).
# Installs from Debian when missing and we are root; otherwise says what to do.
set -euo pipefail

pg_bin=${CALDICOTT_PG_BIN:-/usr/lib/postgresql/15/bin}
missing=()
[ -x "$pg_bin/initdb" ] || missing+=(postgresql-15)
command -v runuser >/dev/null || missing+=(util-linux)
[ -x "${CALDICOTT_SLAPD:-/usr/sbin/slapd}" ] || missing+=(slapd)
[ -x "${CALDICOTT_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
# slapd's package would start a system slapd; the tests run their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
