"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) while a real
run goes on in another process with the script and command runners.

`WAVEFRONT_SCREENSHOTS=docs` makes the tests save the pictures the README shows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components import need
from conftest import WriteBacklog
from dashboard import run_in_child, serving, status_json, wait_until

if importlib.util.find_spec("playwright") is not None:
    from playwright.sync_api import expect
from wavefront.runs import open_journal

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
XSS = "<script>alert(1)</script>"
WAIT_MS = 60_000


@pytest.fixture
def browser() -> Iterator[Any]:
    need(CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None,
         "the browser tests need Chromium and Playwright: bash scripts/setup.d/50-browser.sh")
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=WAIT_MS)

    profile = tempfile.mkdtemp(prefix="wavefront-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 860})
            context.set_default_timeout(WAIT_MS)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Any, name: str) -> None:
    """Save the picture for the README when asked to (the tests' own run is the subject)."""
    folder = os.environ.get("WAVEFRONT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def node(page: Any, task_id: str) -> Any:
    return page.locator(f'g.node[data-task="{task_id}"]')


def backlog(write_backlog: WriteBacklog, go: Path) -> None:
    """Five tasks; the first one's agent works until the test creates `go`, so the page is
    open before anything after it moves (no race with a loaded machine)."""
    agent = go.with_name("wait_for_go.py")
    agent.write_text("import pathlib, time\n"
                     f"while not pathlib.Path({str(go)!r}).exists():\n"
                     "    time.sleep(0.05)\n"
                     "pathlib.Path('schema.sql').write_text('create table t (id int);\\n')\n")
    write_backlog(
        [
            {"id": "schema", "title": "Database schema", "runner": "command"},
            {"id": "api", "title": "REST endpoints", "depends_on": ["schema"],
             "script": {"files": {"api.py": "ROUTES = []\n"}, "sleep": 0.5,
                        "cost_usd": 0.31, "tokens_in": 1200, "tokens_out": 300}},
            {"id": "ui", "title": "Settings page", "depends_on": ["schema"],
             "script": {"files": {"ui.html": "<p>settings</p>\n"}, "sleep": 0.7,
                        "cost_usd": 0.18}},
            {"id": "xss", "title": XSS, "script": {"files": {"x.txt": "x\n"}}},
            {"id": "release", "title": "Release notes", "depends_on": ["api", "ui"],
             "gates": [{"kind": "human", "prompt": "read the release notes"}],
             "script": {"files": {"NOTES.md": "# Notes\n"}, "cost_usd": 0.05}},
        ],
        limits={"max_parallel": 2},
        runners={"command": {"argv_template": [sys.executable, str(agent)]}},
    )


def test_the_run_page_follows_the_run_and_approving_lets_it_merge(
        git_repo: Path, write_backlog: WriteBacklog, browser: Any) -> None:
    go = git_repo.parent / "go"
    backlog(write_backlog, go)
    dialogs: list[str] = []
    with run_in_child(git_repo, "live") as child, serving(git_repo) as url:
        page = browser.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url + "runs/live")
        page.evaluate("window.loadedOnce = true")  # gone if the page ever reloads
        assert node(page, "api").get_attribute("data-status") == "pending"
        go.touch()
        page.wait_for_selector('g.node[data-task="api"][data-status="done"]')
        page.wait_for_selector('#attention li[data-task="release"]')
        screenshot(page, "dashboard-run.png")
        assert page.evaluate("window.loadedOnce") is True

        page.locator('#attention li[data-task="release"] button.approve').click()
        page.wait_for_selector('p.said:text("approval recorded for release")')
        page.wait_for_selector('g.node[data-task="release"][data-status="done"]')
        child.wait(timeout=60)
        assert child.returncode == 0
        page.wait_for_selector('#run-state:text("finished")')
        expect(page.locator("#cost-chart")).to_contain_text("$0.31")  # api's, live
        counts = {cell.get_attribute("data-count"): int(cell.inner_text())
                  for cell in page.locator("[data-count]").all()}
        title = page.locator('tr[data-task="xss"] td').nth(1).inner_text()
    totals = json.loads(status_json(git_repo, "live"))["totals"]
    assert {status: n for status, n in counts.items() if n} == {
        status: totals[status] for status in counts if status in totals}
    assert counts["done"] == 5
    assert title == XSS and dialogs == []
    with open_journal(git_repo) as journal:
        release = journal.task("live", "release")
    assert release is not None and release.merge_commit is not None


# Asks first; with an answer it writes it down (and a change asked for, once asked).
ASKING_AGENT = """\
import pathlib, sys
prompt = pathlib.Path(sys.argv[-1]).read_text()
if "## Answers you were given" not in prompt:
    print("QUESTION: Should the API be REST or GraphQL?")
else:
    text = "api: " + prompt.split("answered:\\n", 1)[1].split("\\n", 1)[0] + "\\n"
    if "## Changes requested" in prompt:
        text += "change: " + prompt.split("asked for a change:\\n", 1)[1].split("\\n", 1)[0]
    pathlib.Path("api.txt").write_text(text.strip() + "\\n")
    print("Summary: wrote api.txt.")
"""


def test_answering_and_requesting_changes_in_the_page_reach_the_agent(
        git_repo: Path, write_backlog: WriteBacklog, browser: Any) -> None:
    agent = git_repo.parent / "asking_agent.py"
    agent.write_text(ASKING_AGENT)
    write_backlog([{"id": "api", "title": "Build the API",
                    "gates": [{"kind": "human", "prompt": "check the API"}]}],
                  defaults={"runner": "command"},
                  runners={"command": {"argv_template": [sys.executable, str(agent)],
                                       "prompt_via": "file"}})
    with run_in_child(git_repo, "ask") as child, serving(git_repo) as url:
        page = browser.new_page()
        page.goto(url + "runs/ask")
        item = page.locator('#attention li[data-task="api"]')
        expect(item).to_contain_text("asks: Should the API be REST or GraphQL?")
        item.locator("form.answer input[name=note]").fill("REST")
        item.locator("form.answer button").click()
        expect(page.locator("p.said")).to_contain_text("answer recorded for api")

        # The agent went on with the answer; once the human gate waits, ask for a change.
        wait_until(lambda: _agent_rounds(git_repo, "ask", "api") == 2
                   and status_of(git_repo, "ask", "api") == "needs-human", "the second round",
                   timeout=180)
        page.reload()
        change = page.locator('#attention li[data-task="api"] form.reject')
        change.locator("input[name=note]").fill("add pagination")
        change.locator("button").click()
        expect(page.locator("p.said")).to_contain_text("change request recorded for api")

        # Once more with the change made: approve, and the engine merges it.
        wait_until(lambda: _agent_rounds(git_repo, "ask", "api") == 3
                   and status_of(git_repo, "ask", "api") == "needs-human", "the third round",
                   timeout=180)
        page.reload()
        page.locator('#attention li[data-task="api"] button.approve').click()
        page.wait_for_selector('g.node[data-task="api"][data-status="done"]')
        child.wait(timeout=60)
        page.goto(url + "runs/ask/tasks/api")
        decided = page.locator("section.decisions tbody").inner_text()
    assert child.returncode == 0
    merged = subprocess.run(["git", "-C", str(git_repo), "show", "wavefront/ask:api.txt"],
                            capture_output=True, text=True, check=True).stdout
    assert merged == "api: REST\nchange: add pagination\n"
    with open_journal(git_repo) as journal:
        decisions = journal.events("ask", kind="decision")
    assert [(e.data["decision"], e.data["note"]) for e in decisions] == [
        ("answer", "REST"), ("change", "add pagination"), ("approve", "")]
    assert {e.data["who"] for e in decisions} == {"the dashboard, from 127.0.0.1"}
    assert decided.count("the dashboard, from 127.0.0.1") == 3 and "add pagination" in decided


def _agent_rounds(repo: Path, run_id: str, task_id: str) -> int:
    with open_journal(repo) as journal:
        return sum(a.kind == "agent" and a.state != "running"
                   for a in journal.attempts(run_id, task_id))


def status_of(repo: Path, run_id: str, task_id: str) -> str | None:
    with open_journal(repo) as journal:
        record = journal.task(run_id, task_id)
    return record.status.value if record else None


def test_failing_a_task_in_the_page_fails_it_with_no_more_rounds(
        git_repo: Path, write_backlog: WriteBacklog, browser: Any) -> None:
    write_backlog([{"id": "ship", "title": "Ship it",
                    "gates": [{"kind": "human", "prompt": "check the version"}],
                    "script": {"files": {"v.txt": "1.0\n"}}}])
    with run_in_child(git_repo, "nope") as child, serving(git_repo) as url:
        page = browser.new_page()
        page.goto(url + "runs/nope")
        item = page.locator('#attention li[data-task="ship"]')
        expect(item).to_contain_text("check the version")
        item.locator("form.fail button").click()
        expect(page.locator("p.said")).to_contain_text("rejection recorded for ship")
        child.wait(timeout=60)
    assert child.returncode == 1
    assert status_of(git_repo, "nope", "ship") == "failed"


def test_the_log_of_a_running_attempt_grows_in_the_page(
        git_repo: Path, write_backlog: WriteBacklog, browser: Any) -> None:
    go = git_repo.parent / "go"
    agent = git_repo.parent / "slow_agent.py"
    # Half its lines, then it waits for the test, then the other half.
    agent.write_text("import pathlib, time\n"
                     "for n in range(40):\n"
                     f"    while n == 20 and not pathlib.Path({str(go)!r}).exists():\n"
                     "        time.sleep(0.05)\n"
                     "    print(f'working on step {n}', flush=True)\n"
                     "    time.sleep(0.05)\n"
                     "open('done.txt', 'w').write('done\\n')\n")
    write_backlog([{"id": "slow", "title": "Import the old settings", "runner": "command",
                    "body": "Read settings.ini of version 1 and write settings.toml.",
                    "acceptance_criteria": ["every key of settings.ini is kept",
                                            "an unknown key is reported, not dropped"],
                    "deliverables": ["done.txt"]}],
                  runners={"command": {"argv_template": [sys.executable, str(agent)],
                                       "prompt_via": "file"}})
    with run_in_child(git_repo, "logs") as child, serving(git_repo) as url:
        wait_until(lambda: _attempt_started(git_repo, "logs", "slow"), "the agent started")
        page = browser.new_page()
        page.goto(url + "runs/logs/tasks/slow")
        page.evaluate("window.loadedOnce = true")
        log = page.locator("#log")
        expect(log).to_contain_text("working on step 19")
        assert log.inner_text().count("working on step") == 20
        screenshot(page, "dashboard-task.png")
        go.touch()
        expect(log).to_contain_text("working on step 39")
        assert page.evaluate("window.loadedOnce") is True
        child.wait(timeout=60)
        page.wait_for_selector('#task-status:text("done")')
        # Each line once: following the log never repeats what the page already has.
        assert log.inner_text().count("working on step") == 40


def _attempt_started(repo: Path, run_id: str, task_id: str) -> bool:
    with open_journal(repo) as journal:
        return bool(journal.attempts(run_id, task_id))


def test_without_the_token_the_browser_is_refused(
        git_repo: Path, write_backlog: WriteBacklog, browser: Any) -> None:
    write_backlog([{"id": "a", "title": "A", "script": {"files": {"a.txt": "a\n"}}}])
    with serving(git_repo, "--token", "browser-token") as url:
        page = browser.new_page()
        refused = page.goto(url.split("?", 1)[0])
        assert refused is not None and refused.status == 401
        assert "needs its token" in page.inner_text("body")
        allowed = page.goto(url)
        assert allowed is not None and allowed.status == 200
        assert "token=" not in page.url  # traded for a cookie
        assert page.goto(url.split("?", 1)[0]).status == 200
