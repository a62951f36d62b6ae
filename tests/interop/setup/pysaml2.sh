#!/usr/bin/env bash
# Installs what the pysaml2 recipe (../shared/idp-samples/README.md, section 3) needs: xmlsec1 and
# python3-venv from Debian when missing, then a venv with pysaml2==7.5.5 in the harness's work
# dir target/interop/pysaml2, where start.sh finds it. Idempotent. Prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/../../.."
start=$(date +%s)
need=()
command -v xmlsec1 >/dev/null || need+=(xmlsec1)
for pkg in openssl curl; do command -v "$pkg" >/dev/null || need+=("$pkg"); done
command -v python3 >/dev/null || need+=(python3)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "pysaml2: apt-get install ${need[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
W=target/interop/pysaml2
mkdir -p "$W"
if ! "$W/.venv/bin/python" -c "import saml2" 2>/dev/null; then
  echo "pysaml2: venv + pip install pysaml2==7.5.5 in $W"
  rm -rf "$W/.venv"
  python3 -m venv "$W/.venv"
  "$W/.venv/bin/pip" install -q --disable-pip-version-check "pysaml2==7.5.5"
fi
echo "pysaml2: ready ($(( $(date +%s) - start )) s)"
