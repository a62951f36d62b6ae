#!/usr/bin/env bash
# Install Debian's headless browser pieces for the browser-driven interop tests
# (tests/interop/browser.rs): chromium and chromium-driver (chromedriver).
# Idempotent: installs only what is missing, runs `apt-get update` at most once, and prints the
# versions and the time taken. Needs root (or sudo) on Debian 12.
set -euo pipefail
start=$(date +%s)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "chromium.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt/dpkg run (another setup script) instead of failing on its lock.
  APT=(apt-get -o DPkg::Lock::Timeout=600)
  # Update the package lists only when the packages are not known yet, or once after an install
  # failed on stale lists (a 404 on a superseded .deb).
  updated=0
  if ! apt-cache show chromium chromium-driver >/dev/null 2>&1; then
    $SUDO "${APT[@]}" update
    updated=1
  fi
  if ! $SUDO "${APT[@]}" install -y --no-install-recommends chromium chromium-driver; then
    [ "$updated" -eq 1 ] && exit 1
    $SUDO "${APT[@]}" update
    $SUDO "${APT[@]}" install -y --no-install-recommends chromium chromium-driver
  fi
else
  echo "chromium.sh: chromium and chromium-driver already installed"
fi

echo "chromium:     $(chromium --version 2>/dev/null || echo 'not found')"
echo "chromedriver: $(chromedriver --version 2>/dev/null || echo 'not found')"
echo "chromium.sh: done in $(( $(date +%s) - start ))s"
