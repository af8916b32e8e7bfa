"""The live view drawn into an 80-column console from a real run's journal."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

from conftest import WriteBacklog
from wavefront.backlog.load import load_and_plan
from wavefront.journal.records import Event
from wavefront.report.progress import LiveProgress
from wavefront.runs import RunOptions, open_journal, start_run


def test_live_view_fits_80_columns_with_a_legend(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    write_backlog([
        {"id": "1.1", "title": "Implement the bookshelf storage layer with atomic writes "
                              "and a migration path", "script": {"files": {"a.txt": "a\n"}}},
        {"id": "1.2", "title": "two", "depends_on": ["1.1"], "script": {"behaviour": "fail"}},
        {"id": "1.3", "title": "three", "depends_on": ["1.2"]},
    ])
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    console = Console(width=80, record=True, color_system=None)
    with open_journal(git_repo) as journal:
        view = LiveProgress(journal, result.run_id, console=console)
        console.print(view._render())
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    assert "✔ done 1" in text and "✘ failed 1" in text and "⊘ blocked 1" in text  # the legend
    row = next(line for line in lines if " 1.3 " in f" {line} ")
    assert "blocked by 1.2" in row  # the note column survives at 80 columns
    title_row = next(line for line in lines if " 1.1 " in f" {line} ")
    assert "…" in title_row and "Implement the" in title_row
    assert "Implement the bookshelf storage layer with atomic writes and" not in text


def test_status_keeps_one_line_per_task_at_80_columns(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    from wavefront.report.summary import render_status, summarize

    write_backlog([
        {"id": "1.1", "title": "one", "script": {"behaviour": "fail"}},
        {"id": "1.2", "title": "two", "depends_on": ["1.1"]},
    ])
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    console = Console(width=80, record=True, color_system=None)
    with open_journal(git_repo) as journal:
        run = journal.get_run(result.run_id)
        assert run is not None
        console.print(render_status(summarize(journal, run), width=80))
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    rows = [line for line in lines if "1.1" in line or "1.2" in line]
    assert len(rows) == 2  # each reason on its own one line
    assert "blocked by 1.1" in rows[1]


def test_a_running_task_shows_how_far_along_it_is(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    write_backlog([{"id": "1.1", "title": "one", "script": {"files": {"a.txt": "a\n"}}},
                   {"id": "1.2", "title": "two", "script": {"files": {"b.txt": "b\n"}}}])
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    console = Console(width=100, record=True, color_system=None)
    with open_journal(git_repo) as journal:
        view = LiveProgress(journal, result.run_id, console=console)
        for event in journal.events(result.run_id):
            view(event)
        # 1.2 runs again (the clock is passed in): half as long as 1.1 took so far.
        view(Event(0, result.run_id, 1000.0, "task_status", "1.2", {"status": "running"}))
        view.view.rows["1.2"].started, view.view.rows["1.2"].ended = 1000.0, None
        done = view.view.rows["1.1"]
        assert done.started is not None and done.ended is not None
        estimate = view.view.estimate()
        assert estimate == done.ended - done.started
        console.print(view._render(now=1000.0 + estimate / 2))
    row = next(line for line in console.export_text().splitlines() if " 1.2 " in f" {line} ")
    assert f"50% of ~{estimate:.0f}s" in row


def test_the_task_count_says_more_may_come_while_a_fan_out_is_unfinished(
    tmp_path: Path,
) -> None:
    from wavefront.journal.database import Journal
    from wavefront.model import SourceLocation, Task, TaskOptions, TaskStatus

    where = SourceLocation(tmp_path / "workflow.yaml", 1)
    fan_out = Task(id="stories", title="Write the stories", source=where,
                   options=TaskOptions(workflow={"step": "stories",
                                                 "expand": {"kind": "stories"}}))
    fan_in = Task(id="review", title="Review", source=where, dependencies=("stories",))
    console = Console(width=80, record=True, color_system=None)
    with Journal.open(tmp_path / "journal.db") as journal:
        journal.create_run("r", repo=tmp_path, base_commit="0" * 40, branch="wavefront/r",
                           options={}, tasks=[(fan_out, None, None, 2.0, 0),
                                              (fan_in, None, None, 1.0, 1)])
        view = LiveProgress(journal, "r", console=console)
        console.print(view._render())
        journal.set_status("r", "stories", TaskStatus.DONE, "merged")
        for event in journal.events("r"):
            view(event)
        console.print(view._render())
    headers = [line for line in console.export_text().splitlines() if line.startswith("run r")]
    assert "0/2+ done" in headers[0]  # the fan-out will add tasks: the total is not final
    assert "1/2 done" in headers[1]


def test_a_view_taller_than_the_terminal_folds_what_finished_by_wave(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    write_backlog([
        *({"id": f"1.{n}", "title": f"piece {n}", "script": {"files": {f"{n}.txt": "x\n"}}}
          for n in range(1, 13)),
        *({"id": f"0.{n}", "title": f"old {n}", "status": "done"} for n in range(1, 6)),
        {"id": "2.1", "title": "breaks", "script": {"behaviour": "fail"}},
        {"id": "3.1", "title": "after it", "depends_on": ["2.1"]},
    ])
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    tall = Console(width=80, height=60, record=True, color_system=None)
    short = Console(width=80, height=16, record=True, color_system=None)
    with open_journal(git_repo) as journal:
        for console in (tall, short):
            console.print(LiveProgress(journal, result.run_id, console=console)._render())
    assert " 1.12 " in tall.export_text()  # every task on its own line where there is room
    text = short.export_text()
    assert len(text.splitlines()) <= 16, text
    assert " 1.12 " not in text
    assert re.search(r"✔ +12 tasks +done", text) and re.search(r"↷ +5 tasks +skipped", text)
    assert "2.1" in text and "3.1" in text  # what needs someone stays in view
