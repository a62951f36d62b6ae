#!/usr/bin/env bash
# Installs what the saml-idp recipe (../shared/idp-samples/README.md, section 2) needs: node + npm
# from Debian when missing, then `npm install` of saml-idp (with the recipe's package.json, whose
# overrides replace the GitHub dependency by the registry's samlp) into the harness's work dir
# target/interop/saml-idp, where start.sh finds it. Idempotent. Prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/../../.."
start=$(date +%s)
I="$(cd ../shared/idp-samples && pwd)"
need=()
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
for pkg in openssl curl; do command -v "$pkg" >/dev/null || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "saml-idp: apt-get install ${need[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
W=target/interop/saml-idp
mkdir -p "$W"
cp "$I/saml-idp/package.json" "$I/saml-idp/idp-config.js" "$W/"
if [ ! -x "$W/node_modules/.bin/saml-idp" ]; then
  echo "saml-idp: npm install in $W"
  (cd "$W" && npm install --no-audit --no-fund --loglevel=error)
fi
echo "saml-idp: ready ($(( $(date +%s) - start )) s)"
