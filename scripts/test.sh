#!/usr/bin/env bash
# Runs every test of tpc on a fresh machine: installs what the integration tests start
# (redis-server, redis-sentinel, nutcracker; openssl for the TLS test's certificates)
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
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} ..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in redis-server redis-sentinel nutcracker openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is still missing" >&2; exit 1; }
done

exec cargo test --locked "$@"
