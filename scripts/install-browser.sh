#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing (needs root and apt-get).
# Playwright drives this system browser; it never downloads one of its own.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: chromium is missing and cannot be installed here (need root + apt-get);" \
       "the browser tests will be skipped outside CI" >&2
  exit 0
fi
echo "install-browser: installing Debian's chromium for the browser tests" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
