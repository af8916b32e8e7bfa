"""The dashboard over real HTTP: `wavefront serve` in its own process, a run's journal made
by a real run with the script runner; requests with the standard library's client."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from http.client import HTTPResponse
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from conftest import WriteBacklog
from dashboard import need_web, run_in_child, serving, wait_until
from wavefront.backlog.load import load_and_plan
from wavefront.runs import RunOptions, open_journal, start_run
from wavefront.workspace.runlock import RunLock

XSS = "<script>alert(1)</script>"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
          ) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=urlencode(data).encode() if data else None,
                                     headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture
def finished_run(git_repo: Path, write_backlog: WriteBacklog) -> Path:
    write_backlog([
        {"id": "a", "title": XSS, "script": {"files": {"a.txt": "a\n"}, "cost_usd": 0.25}},
        {"id": "b", "title": "Second", "depends_on": ["a"],
         "script": {"behaviour": "fail"}},
    ])
    loaded = load_and_plan([], root=git_repo)
    start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(run_id="web", budget_usd=5.0))
    return git_repo


def test_help_does_not_import_the_web_extra() -> None:
    code = ("import sys\nfrom wavefront.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "serve" in done.stdout
    assert done.stdout.strip().endswith("[]")


def test_serve_without_the_extra_says_how_to_get_it(git_repo: Path) -> None:
    code = ("import sys\nsys.modules['uvicorn'] = None\nfrom wavefront.cli import main\n"
            f"main(['serve', '-C', {str(git_repo)!r}])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'wavefront[web]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_port_in_use_is_one_clear_error(git_repo: Path) -> None:
    need_web()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "wavefront", "serve", "-C", str(git_repo),
                               "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_pages_show_the_run_and_escape_what_tasks_say(finished_run: Path) -> None:
    with serving(finished_run) as url:
        status, _, runs = fetch(url)
        assert status == 200 and "/runs/web" in runs
        status, headers, page = fetch(url + "runs/web")
    assert status == 200
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "script-src 'self'" in headers["content-security-policy"]
    # The failed task is in the queue with a retry button; the cost chart has the agent.
    queue = page.split('id="attention"', 1)[1].split("</section>", 1)[0]
    assert 'data-task="b"' in queue and "/tasks/b/retry" in queue
    assert 'data-task="a"' not in queue
    assert "$0.25" in page
    budget = page.split("<dt>budget</dt>", 1)[1].split("</dd>", 1)[0]
    assert budget.endswith("$5.00")


def test_a_task_page_has_the_prompt_the_gates_and_the_diff(finished_run: Path) -> None:
    with serving(finished_run) as url:
        status, _, page = fetch(url + "runs/web/tasks/a")
        assert status == 200
        attempt = page.split('/attempts/', 1)[1].split("/", 1)[0]
        _, _, diff = fetch(f"{url}runs/web/attempts/{attempt}/diff")
        status, _, missing = fetch(url + "runs/web/tasks/nope")
    assert "the exact prompt" in page and "&lt;script&gt;" in page
    assert "a.txt" in diff and "+a" in diff
    assert status == 404 and "no task" in missing


def test_the_event_stream_sends_the_journal_and_totals(finished_run: Path) -> None:
    with serving(finished_run) as url, urllib.request.urlopen(
            url + "runs/web/events?since=0", timeout=10) as stream:
        assert isinstance(stream, HTTPResponse)
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = []
        while "event: totals" not in lines:
            lines.append(stream.readline().decode().strip())
        lines.append(stream.readline().decode().strip())  # the totals' data
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: {\"id\"")]
    statuses = [(e["task"], e["data"]["status"]) for e in events if e["kind"] == "task_status"]
    assert ("a", "done") in statuses and ("b", "failed") in statuses
    totals = json.loads(lines[-1].removeprefix("data: "))
    assert totals["counts"] == {"done": 1, "failed": 1}
    assert totals["cost_usd"] == pytest.approx(0.25)


def test_actions_need_the_csrf_token_and_this_origin(finished_run: Path) -> None:
    with serving(finished_run) as url:
        _, _, page = fetch(url + "runs/web")
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        retry = url + "runs/web/tasks/b/retry"
        without, _, said = fetch(retry, {"next": "/runs/web"})
        wrong = fetch(retry, {"csrf": "guess", "next": "/runs/web"})[0]
        elsewhere = fetch(retry, {"csrf": csrf}, {"Origin": "http://evil.example"})[0]
    assert (without, wrong, elsewhere) == (403, 403, 403)
    assert "did not come from this dashboard" in said


def test_a_foreign_host_name_is_refused_on_loopback(finished_run: Path) -> None:
    with serving(finished_run) as url:
        status, _, said = fetch(url, headers={"Host": "evil.example"})
    assert status == 400 and "unknown host" in said


def test_with_a_token_every_request_needs_it(finished_run: Path) -> None:
    with serving(finished_run, "--token", "s3cret-token") as url:
        bare = url.split("?", 1)[0]
        assert "token=s3cret-token" in url
        refused, _, said = fetch(bare + "runs/web")
        wrong = fetch(bare + "runs/web?token=nope")[0]
        odd = fetch(bare + "runs/web?token=%C3%A9t%C3%A9")[0]  # any text, not a crash
        traded, headers, _ = fetch(bare + "runs/web?token=s3cret-token")
        cookie = headers["set-cookie"].split(";", 1)[0]
        with_cookie = fetch(bare + "runs/web", headers={"Cookie": cookie})[0]
        with_bearer = fetch(bare, headers={"Authorization": "Bearer s3cret-token"})[0]
    assert (refused, wrong, odd) == (401, 401, 401) and "needs its token" in said
    assert traded == 303 and urlsplit(headers["location"]).query == ""
    assert (with_cookie, with_bearer) == (200, 200)


@pytest.mark.parametrize(("host", "needs_token"), [
    ("127.0.0.1", False), ("localhost", False), ("::1", False),
    ("0.0.0.0", True), ("192.0.2.10", True), ("dashboard.example", True)])
def test_beyond_loopback_a_token_is_always_required(host: str, needs_token: bool) -> None:
    need_web()
    from wavefront.web.security import access_rule

    token, hosts = access_rule(host, None)
    assert (token is not None) == needs_token
    assert (hosts is None) == needs_token
    assert access_rule(host, "given")[0] == "given"


def test_before_any_run_the_dashboard_says_how_to_start_one(git_repo: Path) -> None:
    with serving(git_repo) as url:
        status, _, page = fetch(url)
        missing, _, _ = fetch(url + "runs/nope")
    assert status == 200 and "No run yet" in page
    assert missing == 404
    assert not (git_repo / ".wavefront" / "journal.db").exists()  # reading made nothing


def test_serve_outside_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    need_web()
    done = subprocess.run([sys.executable, "-m", "wavefront", "serve", "-C", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "is not a git repository" in done.stderr and "Traceback" not in done.stderr


def csrf_of(url: str, path: str) -> str:
    return fetch(url + path)[2].split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_retry_from_the_page_runs_the_task_again(finished_run: Path) -> None:
    with serving(finished_run) as url:
        status, headers, _ = fetch(url + "runs/web/tasks/b/retry",
                                   {"csrf": csrf_of(url, "runs/web"), "next": "/runs/web"})
        assert status == 303
        said = dict(parse_qsl(urlsplit(headers["location"]).query))["said"]
        assert said == "queued again: b; the run goes on"
        # `wavefront resume` runs in its own process; b's script fails again.
        wait_until(lambda: attempts_of(finished_run, "b") == 2 and not running(finished_run),
                   "the retried task ran again")


def attempts_of(repo: Path, task_id: str) -> int:
    with open_journal(repo) as journal:
        return len(journal.attempts("web", task_id))


def running(repo: Path) -> bool:
    return RunLock(repo / ".wavefront").holder() is not None


def test_cancel_from_the_page_stops_the_run_in_the_other_process(
        git_repo: Path, write_backlog: WriteBacklog) -> None:
    write_backlog([{"id": "stuck", "title": "Stuck", "script": {"behaviour": "hang"}},
                   {"id": "later", "title": "Later", "depends_on": ["stuck"]}])
    with run_in_child(git_repo, "stop") as child, serving(git_repo) as url:
        wait_until(lambda: status_of(git_repo, "stop", "stuck") == "running", "stuck runs")
        status, headers, _ = fetch(url + "runs/stop/cancel",
                                   {"csrf": csrf_of(url, "runs/stop"), "next": "/runs/stop"})
        child.wait(timeout=60)
    said = dict(parse_qsl(urlsplit(headers["location"]).query))["said"]
    assert status == 303 and said.startswith(f"stopped process {child.pid}; cancelled")
    assert child.returncode == 3
    with open_journal(git_repo) as journal:
        run = journal.get_run("stop")
        statuses = {r.task_id: r.status.value for r in journal.tasks("stop")}
    assert run is not None and run.state == "cancelled"
    assert statuses == {"stuck": "cancelled", "later": "cancelled"}


def status_of(repo: Path, run_id: str, task_id: str) -> str | None:
    with open_journal(repo) as journal:
        record = journal.task(run_id, task_id)
    return record.status.value if record else None


def test_secrets_in_a_diff_are_redacted(git_repo: Path, write_backlog: WriteBacklog,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("DEPLOY_API_KEY", secret)
    write_backlog([{"id": "leak", "title": "Leak",
                    "script": {"files": {"config.py": f"KEY = '{secret}'\n"}}}])
    loaded = load_and_plan([], root=git_repo)
    start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(run_id="web"))
    with serving(git_repo) as url:
        page = fetch(url + "runs/web/tasks/leak")[2]
        attempt = page.split('/attempts/', 1)[1].split("/", 1)[0]
        diff = fetch(f"{url}runs/web/attempts/{attempt}/diff")[2]
    assert "config.py" in diff
    assert secret not in diff and "[redacted:DEPLOY_API_KEY]" in diff
