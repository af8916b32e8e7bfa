#!/usr/bin/env bash
# bubblewrap, for the agent sandbox (`run --sandbox bwrap`) and its tests.
set -euo pipefail
if command -v bwrap >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "bubblewrap is not installed and this is not root on Debian: install it with your" \
         "package manager (the sandbox tests are skipped without it)"
    exit 0
fi
apt-get update -q >/dev/null
apt-get install -y -q bubblewrap >/dev/null
