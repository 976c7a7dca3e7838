#!/usr/bin/env bash
# Runs every test of tpc on a fresh machine: installs what the integration tests start
# (redis-server, redis-sentinel, nutcracker; openssl for the TLS test's certificates)
# and what checks contrib/ (systemd-analyze from systemd, promtool from prometheus)
# from the system's packages when missing,
# then runs `cargo test --locked`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

# nutcracker lives in /usr/sbin on Debian and Ubuntu.
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
command -v nutcracker >/dev/null || missing+=(nutcracker)
command -v openssl >/dev/null || missing+=(openssl)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v promtool >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} ..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  # Install the packages without starting their services (prometheus, redis): the
  # tests start what they need on ports of their own.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    made_policy=yes
    trap '$sudo rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  if [ -n "$made_policy" ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
fi
for tool in redis-server redis-sentinel nutcracker openssl systemd-analyze promtool; do
  command -v "$tool" >/dev/null || { echo "error: $tool is still missing" >&2; exit 1; }
done

# A one-off build gains nothing from incremental state, which would double what is on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
exec cargo test --locked "$@"
