#!/usr/bin/env bash
# System packages the test suite needs, from Debian's archive: chromium for the browser tests
# (never a browser downloaded by Playwright), espeak-ng and sox to regenerate seed audio, nginx
# (nginx-light) for the test that serves the apps through deploy/nginx/jamii.conf.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
# /usr/sbin is often outside a user's PATH
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
((${#missing[@]})) || exit 0
echo "Installing system packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Need root to install ${missing[*]} (apt-get install ${missing[*]}); browser tests will be skipped." >&2
    exit 0
  fi
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
# the test runs its own nginx on free ports: do not leave Debian's service holding port 80
if [[ " ${missing[*]} " == *" nginx-light "* && -d /run/systemd/system ]]; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
