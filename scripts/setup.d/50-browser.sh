#!/usr/bin/env bash
# The dashboard's browser tests: Debian's Chromium, driven by Playwright for Python through
# `executable_path` (Playwright's own browser download is not reachable here). The web
# extra itself comes with the test extras (10-python.sh).
set -uo pipefail
if ! .venv/bin/pip install -q playwright; then
  echo "50-browser: pip could not install playwright: the browser tests skip" >&2
fi
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "50-browser: not root on Debian, so no Chromium: the browser tests skip" \
       "(install it with: apt-get install chromium)" >&2
  exit 0
fi
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
then
  echo "50-browser: apt-get could not install chromium: the browser tests skip" >&2
fi
exit 0
