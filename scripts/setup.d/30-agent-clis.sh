#!/usr/bin/env bash
# The real coding-agent CLIs, at the versions wavefront's runners are tested with: the npm
# ones into one cache folder, aider into a virtual environment of its own. The end-to-end
# tests (tests/test_real_agents.py) look for them there, or on PATH. A version already in
# place is not installed again, so a second run takes a second. Where npm or the registry
# is missing, say why and go on: those tests skip (and fail under CI=true).
set -uo pipefail
CACHE="${WAVEFRONT_AGENT_CLIS:-$HOME/.cache/wavefront-agent-clis}"
NPM_PACKAGES=(
  "@anthropic-ai/claude-code@2.1.197"
  "@openai/codex@0.171.0"
  "@google/gemini-cli@0.61.0"
  "opencode-ai@1.18.33"
  "@qwen-code/qwen-code@0.15.10"
)
AIDER_VERSION=0.86.2
mkdir -p "$CACHE/npm"
started=$(date +%s)

installed_version() {  # the version of an npm package in the cache, or nothing
  local manifest="$CACHE/npm/node_modules/$1/package.json"
  [ -f "$manifest" ] && python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$manifest"
}

if command -v npm >/dev/null; then
  missing=()
  for spec in "${NPM_PACKAGES[@]}"; do
    name="${spec%@*}"; version="${spec##*@}"
    [ "$(installed_version "$name")" = "$version" ] || missing+=("$spec")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    # Gemini CLI builds node-pty at install: it needs a compiler and make.
    if ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq g++ make >/dev/null
      fi
    fi
    echo "agent CLIs: installing ${missing[*]} into $CACHE/npm"
    npm install --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error "${missing[@]}" \
      || echo "agent CLIs: npm install failed; the real-CLI tests will skip"
  fi
else
  echo "agent CLIs: npm is not installed (apt-get install nodejs npm); the real-CLI tests will skip"
fi

if [ ! -x "$CACHE/aider/bin/aider" ] || \
   [ "$("$CACHE/aider/bin/python" -c 'import importlib.metadata as m; print(m.version("aider-chat"))' 2>/dev/null)" != "$AIDER_VERSION" ]; then
  echo "agent CLIs: installing aider-chat $AIDER_VERSION into $CACHE/aider"
  { python3 -m venv "$CACHE/aider" && "$CACHE/aider/bin/pip" install -q "aider-chat==$AIDER_VERSION"; } \
    || echo "agent CLIs: aider could not be installed; its real-CLI tests will skip"
fi
echo "agent CLIs: ready in $CACHE ($(( $(date +%s) - started ))s)"
exit 0
