// wavefront dashboard: follows the journal's events (server-sent) and updates the page.
// Text from a task (titles, reasons, logs, diffs) is only ever set as text, never as HTML;
// the HTML fragments fetched below are rendered and escaped by the server.
"use strict";

const ATTENTION = ["needs-human", "failed", "conflict"];
const body = document.body;
const run = body.dataset.run;
const base = run ? "/runs/" + encodeURIComponent(run) : "";

function setStatusClass(element, status) {
  for (const name of [...element.classList]) {
    if (name.startsWith("status-")) element.classList.remove(name);
  }
  element.classList.add("status-" + status);
}

function byTask(selector, task) {
  return document.querySelectorAll(selector + '[data-task="' + CSS.escape(task) + '"]');
}

async function replaceFrom(url, element) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.ok) element.innerHTML = await response.text();  // server-escaped markup
}

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  if (seconds < 60) return seconds + "s";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m " + String(seconds % 60).padStart(2, "0") + "s";
  return Math.floor(seconds / 3600) + "h " + String(Math.floor(seconds % 3600 / 60)).padStart(2, "0") + "m";
}

function followRun(onEvent) {
  const source = new EventSource(base + "/events?since=" + encodeURIComponent(body.dataset.since || "0"));
  source.addEventListener("journal", (message) => onEvent(JSON.parse(message.data)));
  source.addEventListener("totals", (message) => showTotals(JSON.parse(message.data)));
  return source;
}

function showTotals(totals) {
  for (const cell of document.querySelectorAll("[data-count]")) {
    cell.textContent = String(totals.counts[cell.dataset.count] || 0);
  }
  const cost = document.getElementById("cost");
  if (cost) cost.textContent = "$" + totals.cost_usd.toFixed(2);
  const state = document.getElementById("run-state");
  if (state && state.textContent !== totals.state) {
    state.textContent = totals.state;
    state.className = "state state-" + totals.state;
  }
  body.dataset.finished = totals.ended_at ? String(totals.ended_at) : "";
}

// One fetch for a burst of changes: each part is rendered by the server.
const pending = {};
function refreshPart(name, element) {
  if (pending[name]) return;
  pending[name] = setTimeout(() => {
    delete pending[name];
    replaceFrom(base + "/part/" + name, element);
  }, 100);
}

function runPage() {
  const attention = document.getElementById("attention");
  const cost = document.getElementById("cost-chart");
  followRun((event) => {
    if (event.kind === "attempt_finished") refreshPart("cost", cost);
    if (event.kind !== "task_status" || !event.task) return;
    const status = event.data.status;
    let touchesQueue = ATTENTION.includes(status);
    for (const node of byTask("g.node", event.task)) {
      touchesQueue = touchesQueue || ATTENTION.includes(node.dataset.status);
      node.dataset.status = status;
      setStatusClass(node, status);
      node.querySelector("text.status").textContent = status;
      const title = node.querySelector("title");
      title.textContent = title.textContent.replace(/\([^)]*\)$/, "(" + status + ")");
    }
    for (const row of byTask("tr", event.task)) {
      const pill = row.querySelector('[data-field="status"]');
      pill.textContent = status;
      setStatusClass(pill, status);
      row.querySelector('[data-field="reason"]').textContent = event.data.reason || "";
    }
    if (touchesQueue) refreshPart("attention", attention);
  });
  const elapsed = document.getElementById("elapsed");
  setInterval(() => {
    const end = body.dataset.finished ? Number(body.dataset.finished) : Date.now() / 1000;
    elapsed.textContent = duration(end - Number(body.dataset.created));
  }, 1000);
}

function followLog() {
  const log = document.getElementById("log");
  if (!log) return null;
  const source = new EventSource(log.dataset.src);
  source.addEventListener("log", (message) => {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(document.createTextNode(JSON.parse(message.data).text));
    if (atBottom) log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("end", (message) => {
    source.close();
    const state = document.getElementById("log-state");
    if (state) state.textContent = JSON.parse(message.data).state || state.textContent;
  });
  return source;
}

function loadDiffs(root) {
  for (const details of root.querySelectorAll("details.diff")) {
    details.addEventListener("toggle", async () => {
      const pre = details.querySelector("pre");
      if (!details.open || pre.dataset.loaded) return;
      const response = await fetch(details.dataset.src, { credentials: "same-origin" });
      pre.textContent = await response.text();
      pre.dataset.loaded = "1";
    });
  }
}

function taskPage() {
  const task = body.dataset.task;
  const attempts = document.getElementById("attempts");
  let log = followLog();
  loadDiffs(attempts);
  followRun(async (event) => {
    if (event.task !== task) return;
    if (event.kind === "task_status") {
      const pill = document.getElementById("task-status");
      pill.textContent = event.data.status;
      setStatusClass(pill, event.data.status);
      document.getElementById("task-reason").textContent = event.data.reason || "";
    }
    if (["attempt_started", "attempt_finished", "gate_checked", "task_status"].includes(event.kind)) {
      await replaceFrom(location.pathname + "?fragment=attempts", attempts);
      loadDiffs(attempts);
    }
    if (event.kind === "attempt_started") {
      // A new attempt: follow its log instead of the last one's.
      const latest = attempts.querySelector("[data-latest]").dataset.latest;
      const pre = document.getElementById("log");
      if (pre && latest) {
        if (log) log.close();
        pre.textContent = "";
        pre.dataset.src = base + "/attempts/" + latest + "/log";
        log = followLog();
      } else if (!pre) {
        location.reload();
      }
    }
  });
}

if (body.dataset.page === "run") runPage();
if (body.dataset.page === "task") taskPage();
