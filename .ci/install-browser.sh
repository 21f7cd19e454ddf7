#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (Microsoft.Playwright drives it through ExecutablePath; no browser
# download). Idempotent: nothing happens when /usr/bin/chromium already runs. Prints the browser's path.
set -euo pipefail
if ! /usr/bin/chromium --version >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2
fi
/usr/bin/chromium --version >&2
echo /usr/bin/chromium
