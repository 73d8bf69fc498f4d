#!/usr/bin/env bash
# Makes sure the browser tests have a Chromium (Playwright's own browser download cannot
# work offline): Debian's `chromium` is installed with apt when none is found (as root, or
# with passwordless sudo); otherwise this fails with what to do. PMI_CHROMIUM may name one.
set -euo pipefail

have_browser() {
  [[ -n "${PMI_CHROMIUM:-}" && -x "${PMI_CHROMIUM}" ]] && return 0
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}

have_browser && exit 0
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    sudo -n true 2>/dev/null && sudo="sudo -n"
  fi
  if [[ $(id -u) -eq 0 || -n "$sudo" ]]; then
    echo "==> installing chromium with apt-get (the browser tests drive it)"
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null || true
  fi
fi
have_browser && exit 0
cat >&2 <<'MSG'
Chromium was not found and could not be installed. The dashboard's browser tests need it:
  - Debian/Ubuntu: sudo apt-get install chromium
  - elsewhere: install Chromium or Chrome, and put it on PATH or set PMI_CHROMIUM=/path/to/it
MSG
exit 1
