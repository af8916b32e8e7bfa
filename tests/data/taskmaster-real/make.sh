#!/usr/bin/env bash
# Writes tasks.json beside this script with the real Task Master CLI (task-master-ai, the
# version scripts/setup.d/35-task-master.sh installs), through its own commands only, no
# model: parents, subtasks, the review/cancelled/deferred/done statuses and a dependency
# on a subtask. Run it again after changing it; tests/test_taskmaster_real.py reads the
# result and says which version wrote it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
TM="${TASK_MASTER:-$HOME/.cache/wavefront-task-master/node_modules/.bin/task-master}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export HOME="$work/home"
mkdir -p "$HOME"
"$TM" init -y --skip-install --no-git --no-aliases --name demo >/dev/null
# init leaves no tasks file (parse-prd, which needs a model, would write it): start empty.
[ -f .taskmaster/tasks/tasks.json ] || echo '{"master": {"tasks": []}}' > .taskmaster/tasks/tasks.json
tm() { "$TM" "$@" >/dev/null; }
tm add-task --title "Set up the database" --description "Create the schema" --priority high
tm add-task --title "Build the API" --description "Routes over the schema" --dependencies 1
tm add-task --title "Write the docs" --description "User guide" --priority low
tm add-task --title "Old exporter" --description "Replaced by the API"
tm add-task --title "Dark mode" --description "Later"
tm add-subtask --parent 1 --title "Tables" --description "users, orders"
tm add-subtask --parent 1 --title "Indexes" --description "on orders" --dependencies 1.1
tm add-subtask --parent 2 --title "Routes" --description "REST routes"
tm add-dependency --id 3 --depends-on 1.2
tm add-dependency --id 3 --depends-on 4
tm set-status --id 1.1 --status done
tm set-status --id 1.2 --status review
tm set-status --id 4 --status cancelled
tm set-status --id 5 --status deferred
cp .taskmaster/tasks/tasks.json "$here/tasks.json"
# What Task Master itself answers on this file, for the tests to compare with.
"$TM" list --with-subtasks --json > "$here/list.json"
"$TM" list --ready --json > "$here/ready.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
  "$(dirname "$(readlink -f "$TM")")/../package.json" > "$here/VERSION" 2>/dev/null || true
