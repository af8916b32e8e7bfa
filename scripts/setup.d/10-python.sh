#!/usr/bin/env bash
# The project's virtual environment with the test extras.
set -euo pipefail
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test,ray]'
