"""Hostile input: fuzzed files for every backlog loader (and the workflow loader), task ids
and titles built to attack paths, branch names, git options and shell quoting, a symlink
leading out of the repository, and huge files.

The promise under test: bad input is a `WavefrontError` with one message (file and line
where there is one), never another exception, and nothing a task id says can make
wavefront write outside its state directory, pass an option to git or run a shell command.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.harness import (
    Finished,
    git,
    git_ok,
    make_repo,
    run_cli,
    wavefront_env,
    write_backlog,
)
from chaos.invariants import check_invariants
from components import need
from wavefront.backlog import FORMATS, load_backlog
from wavefront.backlog.load import load_and_plan
from wavefront.errors import WavefrontError
from wavefront.workspace.sandbox import unavailable as sandbox_unavailable

# Where each format reads a file from (so `matches` and the loader both accept the path).
LOADER_FILES = {
    "wavefront": "wavefront.yaml",
    "workflow": "flow.workflow.yaml",
    "taskmaster": ".taskmaster/tasks/tasks.json",
    "taskjson": ".tmp/tasks/feature/task.json",
    "bmad": "sprint-status.yaml",
    "stories": "docs/stories/1.1.story.md",
    "speckit": "specs/001-feature/tasks.md",
}
JSON_FORMATS = {"taskmaster", "taskjson"}
MARKDOWN_FORMATS = {"stories", "speckit"}

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
# Keys the loaders look for, so structured fuzz reaches past the first check.
KEYS = [
    "id",
    "title",
    "tasks",
    "depends_on",
    "dependencies",
    "status",
    "version",
    "steps",
    "subtasks",
    "agent",
    "gates",
    "files",
    "development_status",
    "master",
    "parallel",
    "pattern",
    "phases",
    "deliverables",
    "acceptance_criteria",
    "seq",
    "name",
]
keyed_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 300)
    | st.text(max_size=12)
    | st.sampled_from(["1.1", "done", "pending", "t1", "../x", "-rf"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
MARKDOWN_LINES = [
    "# Story 1.1: Title",
    "## Tasks",
    "**Dependencies**: 1.2, 9.9",
    "Status: Done",
    "- [ ] T001 [P] Do a thing in src/a.py",
    "- [x] T002 [US1] Other",
    "## Phase 1: Setup",
    "## Acceptance Criteria",
    "1. works",
    "```",
    "---",
    "title: x",
    "**Dependencies**: none",
    "",
]


def load_expecting_clean_outcome(name: str, text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / LOADER_FILES[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_backlog(path, format=name)
            load_and_plan([], paths=[path], root=root, format=name)
        except WavefrontError as error:
            assert str(error).strip(), "an error without a message"


def test_every_format_is_fuzzed() -> None:
    assert set(LOADER_FILES) == set(FORMATS)


@pytest.mark.parametrize("name", sorted(LOADER_FILES))
@FUZZ
@given(text=st.text(max_size=400))
def test_any_text_loads_or_fails_with_a_wavefront_error(name: str, text: str) -> None:
    load_expecting_clean_outcome(name, text)


@pytest.mark.parametrize("name", sorted(LOADER_FILES))
@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes_load_or_fail_with_a_wavefront_error(name: str, data: bytes) -> None:
    load_expecting_clean_outcome(name, data)


@pytest.mark.parametrize("name", sorted(LOADER_FILES))
@FUZZ
@given(value=keyed_values | json_values)
def test_structured_documents_load_or_fail_with_a_wavefront_error(name: str, value: Any) -> None:
    if name in MARKDOWN_FORMATS:
        text = "\n".join(str(v) for v in (value if isinstance(value, list) else [value]))
        text = "\n".join(MARKDOWN_LINES[hash(text) % 5 :]) + "\n" + text
    elif name in JSON_FORMATS:
        text = json.dumps(value)
    else:
        text = yaml.safe_dump(value)
    load_expecting_clean_outcome(name, text)


@pytest.mark.parametrize("name", sorted(MARKDOWN_FORMATS))
@FUZZ
@given(lines=st.lists(st.sampled_from(MARKDOWN_LINES) | st.text(max_size=30), max_size=30))
def test_markdown_made_of_real_pieces_loads_or_fails_cleanly(name: str, lines: list[str]) -> None:
    load_expecting_clean_outcome(name, "\n".join(lines))


# -- task ids and titles that attack ------------------------------------------------------

HOSTILE_IDS = [
    "../../escape",
    "/etc/passwd",
    "-rf",
    "--upload-pack=touch pwned-upload",
    "$(touch pwned-subst)",
    "`touch pwned-tick`",
    "a; touch pwned-semi",
    "with space",
    "HEAD",
    "refs/heads/main",
    "x.lock",
    "a..b",
    "@{-1}",
    ".hidden",
    "~^:?*[\\",
    "é✓中文",
    "a" * 200,
]


def test_hostile_task_ids_and_titles_run_safely(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    tasks = [
        {
            "id": task_id,
            "title": f"title $(touch pwned-title-{index}) `id` \"quoted\" 'single' \n --force",
            "script": {"files": {f"out/{index}.txt": f"{index}\n"}},
        }
        for index, task_id in enumerate(HOSTILE_IDS)
    ]
    tasks[1]["depends_on"] = [HOSTILE_IDS[0]]
    write_backlog(repo, tasks, limits={"max_parallel": 3})
    main_before = git(repo, "rev-parse", "main")
    outside_before = sorted(p.name for p in tmp_path.iterdir())

    finished = run_cli(repo, "run", "--no-progress")

    assert finished.returncode == 0, finished.stdout + finished.stderr
    run_id = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/wavefront/")
    run_id = run_id.strip().removeprefix("wavefront/")
    assert check_invariants(repo, run_id, {t: "done" for t in HOSTILE_IDS}) == []
    # No command ran: nothing named pwned-* anywhere, inside the repository or beside it.
    assert not list(tmp_path.rglob("pwned*"))
    assert not list(Path.cwd().glob("pwned*"))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("wavefront-")) == [
        n for n in outside_before if not n.startswith("wavefront-")
    ]
    assert git(repo, "rev-parse", "main") == main_before
    # Every ref wavefront made is a valid, ordinary branch name.
    for ref in git(repo, "for-each-ref", "--format=%(refname)").split():
        assert git_ok(repo, "check-ref-format", ref), ref
    # Titles reach the commit messages verbatim, ids the trailers.
    log = git(repo, "log", "--format=%B%x00", f"wavefront/{run_id}")
    assert "$(touch pwned-title-3) `id`" in log
    for task_id in HOSTILE_IDS:
        assert f"wavefront-task: {task_id}" in log


# -- a symlink out of the repository, huge files --------------------------------------------


def story(number: str, title: str) -> str:
    return f"# Story {number}: {title}\n\n**Dependencies**: none\n\nDo it.\n"


def test_a_backlog_symlink_leading_outside_the_repository_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "1.1.secret.md").write_text(story("1.1", "from outside"))
    stories = repo / "docs" / "stories"
    stories.mkdir(parents=True)
    (stories / "1.2.inside.md").write_text(story("1.2", "inside"))
    (stories / "1.1.secret.md").symlink_to(outside / "1.1.secret.md")

    for command in (("plan",), ("run", "--no-progress", "--runner", "script")):
        finished = run_cli(repo, *command)
        assert finished.returncode == 2
        assert "Traceback" not in finished.stderr
        last = finished.stderr.strip().splitlines()[-1]
        assert last.startswith("error: docs/stories/1.1.secret.md:")
        assert "outside the repository" in last
    assert not (repo / ".wavefront" / "journal.db").exists()  # no run was started
    # Named explicitly, the same file is the user's choice and is read.
    named = load_and_plan([], paths=[stories / "1.1.secret.md"], root=repo)
    assert [t.title for t in named.plan.tasks] == ["from outside"]


def test_a_huge_backlog_loads_and_plans(tmp_path: Path) -> None:
    count = 5000
    tasks = [
        {
            "id": i,
            "title": f"task {i} " + "x" * 200,
            "description": "y" * 300,
            "status": "pending",
            "dependencies": [i - 1] if i > 1 else [],
        }
        for i in range(1, count + 1)
    ]
    path = tmp_path / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"master": {"tasks": tasks}}))
    assert path.stat().st_size > 2_500_000
    loaded = load_and_plan([], root=tmp_path)
    assert len(loaded.plan.tasks) == count


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("stories", "# Story 1.1: Long\n\n**Dependencies**: none\n\n" + "z" * 8_000_000),
        ("stories", "\x00\x01" * 1_000_000),
        ("wavefront", "tasks:\n" + "  - {id: a, title: " + "b" * 4_000_000 + "}\n"),
        ("taskmaster", "[" * 100_000),
        ("wavefront", "a: &a [*a]\n" + "b: " + "[" * 5000),
    ],
    ids=["8MB-story", "binary-story", "4MB-yaml-line", "deep-json", "yaml-alias-and-depth"],
)
def test_huge_or_deep_files_end_cleanly(name: str, content: str) -> None:
    load_expecting_clean_outcome(name, content)


def test_a_huge_task_runs_end_to_end(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_backlog(
        repo,
        [
            {
                "id": "big",
                "title": "big body",
                "body": "w" * 500_000,
                "script": {"files": {"big.txt": "x\n"}},
            }
        ],
    )
    finished = run_cli(repo, "run", "--no-progress")
    assert finished.returncode == 0, finished.stderr[-2000:]


# -- holes found on the way: each ends in one message, file and line, exit code 2 ----------


def last_error(finished: Finished) -> str:
    assert finished.returncode == 2, finished.stdout + finished.stderr
    assert "Traceback" not in finished.stderr, finished.stderr
    return finished.stderr.strip().splitlines()[-1]


def alias_bomb(levels: int = 10) -> str:
    """Each level an anchored list of ten aliases of the one before: 10**levels values."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join([*lines, "tasks:", f"  - {{id: a, title: x, body: *l{levels - 1}}}", ""])


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "wavefront.yaml").write_text(alias_bomb())
    # The timeout only guards against the hang it used to be (the value took minutes).
    finished = run_cli(repo, "validate", timeout=60)
    last_error(finished)  # exit 2, no traceback
    assert re.search(r"wavefront\.yaml:\d+: invalid YAML: its aliases expand", finished.stderr)
    (repo / "wavefront.yaml").write_text("tasks: &t\n  - *t\n")
    finished = run_cli(repo, "validate")
    last_error(finished)
    assert "wavefront.yaml:1: invalid YAML: an alias names a collection" in finished.stderr


def test_ordinary_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "wavefront.yaml"
    path.write_text("tasks:\n  - &base {id: a, title: shared, deliverables: [a.txt]}\n"
                    "  - {<<: *base, id: b}\n")
    assert [t.title for t in load_backlog(path).tasks] == ["shared", "shared"]


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("wavefront", b"version: 1\ntasks:\n  - id: a\n    title: \"x\x00y\"\n", ":4:"),
        ("wavefront", b"version: 1\ntasks:\n  - id: \"a\\0b\"\n    title: x\n", ":3:"),
        ("stories", b"# Story 1.1: Hello\n\n**Dependencies**: none\n\nDo \x00 it.\n", ":5:"),
        ("taskmaster", b'{"tasks": [{"id": 1, "title": "a\\u0000b"}]}', ":"),
    ],
    ids=["raw-in-yaml", "escaped-in-a-yaml-id", "raw-in-a-story", "escaped-in-json"],
)
def test_a_nul_character_is_a_load_error_with_file_and_line(
    tmp_path: Path, name: str, content: bytes, where: str
) -> None:
    path = tmp_path / LOADER_FILES[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    with pytest.raises(WavefrontError) as caught:
        load_backlog(path, format=name)
    message = str(caught.value)
    assert message.startswith(f"{path}{where}") and "NUL" in message, message


def test_a_contract_path_outside_the_repository_is_refused_by_validate(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (tmp_path / "secret.md").write_text("TBD\n")
    for path in ("../secret.md", str(tmp_path / "secret.md")):
        write_backlog(repo, [{"id": "a", "title": "a",
                              "gates": [{"kind": "contract", "paths": [path]}]}])
        line = last_error(run_cli(repo, "validate"))
        assert line.startswith("error: wavefront.yaml:") and path in line, line
        assert "outside the repository" in line or "relative to the repository" in line


def test_looking_at_a_repository_without_runs_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_backlog(repo, [{"id": "a", "title": "a"}])
    for command in (("status",), ("show", "a"), ("report",), ("approve", "a")):
        assert "no run in this repository yet" in last_error(run_cli(repo, *command))
    assert run_cli(repo, "runs").returncode == 0
    assert not (repo / ".wavefront").exists()


def test_a_read_only_state_directory_is_one_message(tmp_path: Path) -> None:
    need(sandbox_unavailable() is None, f"{sandbox_unavailable()}")
    repo = make_repo(tmp_path / "repo")
    write_backlog(repo, [{"id": "a", "title": "a", "script": {"files": {"a.txt": "a\n"}}}])
    state = repo / ".wavefront"
    state.mkdir()
    # Read-only for root too: a read-only bind mount, made by bubblewrap.
    readonly = subprocess.run(
        ["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
         "--ro-bind", str(state), str(state), "--chdir", str(repo), "--",
         sys.executable, "-m", "wavefront", "run", "--no-progress"],
        capture_output=True, text=True, timeout=120, env=wavefront_env(),
        stdin=subprocess.DEVNULL, check=False)
    line = last_error(Finished(readonly.returncode, readonly.stdout, readonly.stderr))
    assert f"cannot write wavefront's state directory {state}" in line, line
    assert list(state.iterdir()) == []


def test_next_steps_with_a_hostile_task_id_paste_into_a_shell_as_they_read(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    task_id = "-x; touch pwned"
    write_backlog(repo, [{"id": task_id, "title": "t", "gates": [{"kind": "human"}],
                          "script": {"files": {"t.txt": "t\n"}}}])
    paused = run_cli(repo, "run", "--no-progress")
    assert paused.returncode == 3, paused.stdout + paused.stderr
    decide = next(line for line in paused.stdout.splitlines() if "Decide:" in line)
    approve = decide.split("`")[1]
    assert approve == "wavefront approve -- '-x; touch pwned'", decide
    # Pasted as printed, it approves that task and runs nothing else.
    bin_dir = Path(sys.executable).parent
    pasted = subprocess.run(["sh", "-c", approve], cwd=repo, capture_output=True, text=True,
                            env=wavefront_env(PATH=f"{bin_dir}:/usr/bin:/bin"), timeout=60,
                            check=False)
    assert pasted.returncode == 0, pasted.stderr
    assert not (repo / "pwned").exists()
    assert run_cli(repo, "resume", "--no-progress").returncode == 0


@pytest.mark.parametrize("value", ["TBD", "1-1", "ASAP", "see the epic"])
def test_a_dependencies_line_naming_nothing_is_reported_with_file_and_line(
    tmp_path: Path, value: str
) -> None:
    path = tmp_path / "docs" / "stories" / "2.1.story.md"
    path.parent.mkdir(parents=True)
    path.write_text(f"# Story 2.1: S\n\nStatus: Draft\n\n**Dependencies**: {value}\n\nDo it.\n")
    backlog = load_backlog(path)
    assert backlog.tasks[0].dependencies == ()
    assert [n for n in backlog.notes if n.startswith(f"{path}:5: dependencies {value!r}")
            and "name no story" in n], backlog.notes
