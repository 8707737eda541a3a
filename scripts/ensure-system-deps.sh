#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers: Chromium (browser
# interop and end-to-end tests), redis-server (the Redis broker) and openssl (test
# certificates for wss:// and TLS servers, made at test time). Nothing else is
# downloaded: browsers come from Debian, never from a test tool's own download.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing system packages: ${need[*]} — install them (Debian: apt-get install -y ${need[*]})" >&2
  exit 1
fi
