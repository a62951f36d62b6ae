#!/usr/bin/env bash
# Installs what the SimpleSAMLphp recipe (../shared/idp-samples/README.md, section 1) needs:
# Debian's simplesamlphp served by PHP's built-in server, without Apache (lighttpd and php8.2-cgi
# are named first so that apt does not pick apache2 + mod_php). Idempotent: installs only what is
# missing. Prints how long it took.
set -euo pipefail
start=$(date +%s)
need=()
for pkg in php8.2-cli php8.2-cgi php8.2-xml php8.2-mbstring lighttpd simplesamlphp php-cli openssl curl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "simplesamlphp: apt-get install ${need[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -d /usr/share/simplesamlphp/www ] || { echo "simplesamlphp: /usr/share/simplesamlphp/www missing after install" >&2; exit 1; }
echo "simplesamlphp: ready ($(( $(date +%s) - start )) s)"
