#!/usr/bin/env bash
# Node.js and npm, for the workspace-setup example (a Node project with `npm ci` and an
# `npm test` gate). Installed from Debian when missing and when we may; else its tests skip.
set -uo pipefail
if command -v node >/dev/null && command -v npm >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null && exit 0
fi
echo "setup: node/npm not installed; the Node workspace-setup test will skip" >&2
