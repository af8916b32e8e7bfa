#!/usr/bin/env bash
# Task Master's own CLI (npm task-master-ai), pinned: the Task Master backlog tests write
# tasks.json files with its commands and read wavefront's write-back with `task-master
# list/show`. No model is needed for those commands. A version already in place is not
# installed again. Where npm or the registry is missing, say why and go on: those tests
# skip (and fail under CI=true).
set -uo pipefail
CACHE="${WAVEFRONT_TASK_MASTER:-$HOME/.cache/wavefront-task-master}"
VERSION=0.43.1
manifest="$CACHE/node_modules/task-master-ai/package.json"
if [ -f "$manifest" ] && [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$manifest")" = "$VERSION" ]; then
  echo "task-master: $VERSION ready in $CACHE"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "task-master: npm is not installed (apt-get install nodejs npm); its tests will skip"
  exit 0
fi
mkdir -p "$CACHE"
echo "task-master: installing task-master-ai@$VERSION into $CACHE"
npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error "task-master-ai@$VERSION" \
  || echo "task-master: npm install failed; its tests will skip"
exit 0
