#!/usr/bin/env bash
# Makes sure the browser tests have Debian's Chromium (Playwright's own browser download
# cannot work offline); installs it with apt when missing, else fails with what to do.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing chromium with apt-get (the browser tests drive it)"
  apt-get update -qq >/dev/null 2>&1 || true
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    command -v chromium >/dev/null 2>&1 && exit 0
  fi
fi
cat >&2 <<'MSG'
Chromium was not found and could not be installed. The dashboard's browser tests need it:
  - Debian/Ubuntu: sudo apt-get install chromium
  - elsewhere: install Chromium or Chrome and put a `chromium` executable on PATH
MSG
exit 1
