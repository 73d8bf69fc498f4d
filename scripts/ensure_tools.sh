#!/usr/bin/env bash
# Checks (and where possible installs) the non-Python tools the platform needs locally:
# Java and Google's Cloud Firestore emulator. Prints what it does; exits non-zero with a
# clear message when something cannot be had.
set -euo pipefail

have_emulator() {
  local root
  if command -v gcloud >/dev/null 2>&1; then
    root="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)"
    [[ -n "$root" && -x "$root/platform/cloud-firestore-emulator/cloud_firestore_emulator" ]] && return 0
  fi
  for root in /usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk "$HOME/google-cloud-sdk" /opt/google-cloud-sdk; do
    [[ -x "$root/platform/cloud-firestore-emulator/cloud_firestore_emulator" ]] && return 0
  done
  command -v firebase >/dev/null 2>&1 && return 0
  return 1
}

apt_install() {
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing $* with apt-get"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    return $?
  fi
  return 1
}

if ! command -v java >/dev/null 2>&1; then
  apt_install openjdk-17-jre-headless || {
    echo "Java 17+ is required for the Firestore emulator; install a JRE and retry." >&2
    exit 1
  }
fi

if ! have_emulator; then
  apt_install google-cloud-cli-firestore-emulator || true
fi

# Node and npm run the Firebase CLI (Auth emulator) and the Firebase JS SDK tests.
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm || {
    echo "Node.js 20+ with npm is required (the Auth emulator, the mobile SDK tests); install it and retry." >&2
    exit 1
  }
fi
if ! have_emulator; then
  # The project's own firebase-tools (package.json, installed by `npm ci` right after this
  # script) runs the Firestore emulator instead: it downloads the jar on first use, which
  # needs internet once and Java 21+ (scripts/emulator.py).
  cat >&2 <<'MSG'
note: Google's Cloud Firestore emulator was not found; the project's Firebase CLI will be
used instead (it downloads the emulator jar on first use: internet and Java 21+ needed).
To use Google's emulator (offline, Java 17): apt-get install google-cloud-cli-firestore-emulator
(or: gcloud components install cloud-firestore-emulator).
MSG
fi
