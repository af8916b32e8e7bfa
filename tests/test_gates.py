"""Each gate kind on real files and real processes, the checking order, the verdict parser,
and plan-time validation through `start_run` on a real `wavefront.yaml`.

Reviewer agents are model CLIs, which cannot run here; where a gate needs one, a reviewer
call returns the text such an agent would print.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import git
from wavefront.backlog.load import load_and_plan
from wavefront.errors import ConfigError
from wavefront.gates.base import GateContext
from wavefront.gates.command import CommandGate
from wavefront.gates.contract import ContractGate, empty_sections
from wavefront.gates.deliverables import DeliverablesGate
from wavefront.gates.human import HumanGate
from wavefront.gates.registry import check_gates, effective_gates
from wavefront.gates.review import ReviewGate, parse_verdict
from wavefront.model import AgentResult, GateAction, GateSpec, SourceLocation, Task
from wavefront.runs import RunOptions, open_journal, start_run

TASK = Task(id="t1", title="Write the docs", source=SourceLocation(Path("wavefront.yaml"), 3))


def context(workspace: Path, **changes: Any) -> GateContext:
    values: dict[str, Any] = {
        "task": TASK,
        "workspace": workspace,
        "log_dir": workspace / ".logs",
    }
    values.update(changes)
    return GateContext(**values)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent to reap it counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# -- command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "passed", "summary", "output"),
    [
        ([sys.executable, "-c", "print('all good')"], True, "exit 0", "all good"),
        (
            [sys.executable, "-c", "import sys; print('2 failed'); sys.exit(3)"],
            False,
            "exit 3",
            "2 failed",
        ),
        ("echo shell && exit 4", False, "exit 4", "shell"),
        ("echo $GREETING", True, "exit 0", "from-env"),
    ],
)
def test_command_gate_passes_on_exit_zero_and_keeps_the_output(
    tmp_path: Path, run: Any, passed: bool, summary: str, output: str
) -> None:
    gate = CommandGate(run, timeout=30, env={"GREETING": "from-env"})
    result = asyncio.run(gate.check(context(tmp_path)))
    assert (result.passed, result.summary) == (passed, summary)
    assert output in result.details
    log = next((tmp_path / ".logs").glob("gate-*.log"))
    assert output in log.read_text()


def test_a_hanging_command_is_killed_with_its_children(tmp_path: Path) -> None:
    hang = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    gate = CommandGate([sys.executable, "-c", hang], timeout=1.5)
    result = asyncio.run(gate.check(context(tmp_path)))
    assert not result.passed and result.summary == "timed out after 1.5s"
    pid = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), "the gate's grandchild outlived the timeout"


def test_command_gate_appends_to_the_attempt_log_when_given(tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    log.write_text("agent output\n")
    gate = CommandGate([sys.executable, "-c", "print('gate output')"])
    asyncio.run(gate.check(context(tmp_path, log_path=log)))
    text = log.read_text()
    assert text.startswith("agent output\n") and "gate output" in text


# -- deliverables --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "files", "changed", "problems"),
    [
        (["a.py"], {"a.py": "x"}, ["a.py"], []),
        (["a.py", "b.py"], {"a.py": "x"}, ["a.py"], ["b.py: missing"]),
        (["a.py"], {"a.py": "x"}, [], ["a.py: exists but this attempt did not change it"]),
        (["docs/"], {"docs/x.md": "x"}, ["docs/x.md"], []),
        (["src/*.py"], {"src/m.py": "x"}, ["src/m.py"], []),
        (["src/*.py"], {}, [], ["src/*.py: missing"]),
    ],
)
def test_deliverables_exist_and_were_changed(
    tmp_path: Path, paths: list[str], files: dict[str, str], changed: list[str], problems: list[str]
) -> None:
    write(tmp_path, files)
    result = asyncio.run(
        DeliverablesGate(paths).check(context(tmp_path, changed_files=tuple(changed)))
    )
    assert list(result.findings) == problems
    assert result.passed is (not problems)


def test_a_task_that_declares_deliverables_gets_the_gate(tmp_path: Path) -> None:
    task = Task(id="d", title="D", source=TASK.source, deliverables=("out.txt",))
    assert [s.kind for s in effective_gates([], task)] == ["deliverables"]
    assert effective_gates([], task, auto_deliverables=False) == []
    results = asyncio.run(check_gates([], context(tmp_path, task=task)))
    assert [(r.gate, r.passed) for r in results] == [("deliverables (declared)", False)]


# -- contract ------------------------------------------------------------------------------

DOCUMENT = """\
# Architecture

## Overview

The API serves books.

## Storage

TBD

## Security

### Authentication

<!-- fill in -->

## Errors

Errors are JSON. TODO: list codes. Is this right???
"""


def test_contract_finds_placeholders_and_empty_sections(tmp_path: Path) -> None:
    write(tmp_path, {"docs/ARCHITECTURE.md": DOCUMENT})
    gate = ContractGate(["docs/ARCHITECTURE.md"])
    result = asyncio.run(gate.check(context(tmp_path)))
    assert not result.passed
    assert list(result.findings) == [
        "docs/ARCHITECTURE.md:9: placeholder 'TBD'",
        "docs/ARCHITECTURE.md:11: section ## Security is empty",
        "docs/ARCHITECTURE.md:13: section ### Authentication is empty",
        "docs/ARCHITECTURE.md:19: placeholder '???'",
        "docs/ARCHITECTURE.md:19: placeholder 'TODO'",
    ]


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("# A\n\ntext\n", []),
        ("# A\n\n## B\n\ntext\n", []),  # A has content through its subsection
        ("# A\n## B\n", [(1, "section # A is empty"), (2, "section ## B is empty")]),
        ("# A\n\n---\n\n# B\n\n- item\n", [(1, "section # A is empty")]),
        ("# A\n\n```\ncode\n```\n", []),
    ],
)
def test_empty_sections(text: str, problems: list[tuple[int, str]]) -> None:
    assert empty_sections(text) == problems


def test_contract_markers_are_words_and_configurable(tmp_path: Path) -> None:
    write(tmp_path, {"spec.md": "# Spec\n\nTODOS are tracked elsewhere; XXX here; a todo.\n"})
    default = asyncio.run(ContractGate(["spec.md"]).check(context(tmp_path)))
    custom = asyncio.run(ContractGate(["spec.md"], markers=["XXX"]).check(context(tmp_path)))
    assert default.passed
    assert list(custom.findings) == ["spec.md:3: placeholder 'XXX'"]


def test_contract_defaults_to_the_documents_a_task_delivers(tmp_path: Path) -> None:
    write(tmp_path, {"docs/api.md": "# API\n\nTBD\n", "notes.md": "# Notes\n\nTBD\n"})
    task = Task(id="c", title="C", source=TASK.source, deliverables=("docs/api.md", "src/x.py"))
    result = asyncio.run(ContractGate().check(context(tmp_path, task=task)))
    assert list(result.findings) == ["docs/api.md:3: placeholder 'TBD'"]
    missing = asyncio.run(ContractGate(["docs/none.md"]).check(context(tmp_path)))
    assert list(missing.findings) == ["docs/none.md: missing"]


# -- review --------------------------------------------------------------------------------

FENCED = 'Fine.\n```json\n{"verdict": "approve", "findings": []}\n```\n'
FINDING = {"severity": "major", "file": "a.py", "line": 4, "message": "off by one"}


@pytest.mark.parametrize(
    ("text", "approved", "findings"),
    [
        (FENCED, True, ()),
        (
            'Notes {"x": 1} then {"verdict": "request_changes", "findings": ["add a test"]}',
            False,
            ("add a test",),
        ),
        (
            '{"verdict": "request_changes", "findings": [' + str(FINDING).replace("'", '"') + "]}",
            False,
            ("[major] a.py:4: off by one",),
        ),
        (
            '```json\n{"verdict": "Changes Requested", "findings": [{"message": "m"}]}\n```',
            False,
            ("m",),
        ),
        (
            '{"verdict": "approve"} and later {"verdict": "request_changes", "findings": []}',
            False,
            (),
        ),
        (
            '{"verdict": "approved", "findings": [{"severity": "minor", "message": "naming"}]}',
            True,
            ("[minor] naming",),
        ),
    ],
)
def test_parse_verdict_reads_the_last_verdict(
    text: str, approved: bool, findings: tuple[str, ...]
) -> None:
    verdict = parse_verdict(text)
    assert verdict is not None
    assert (verdict.approved, verdict.findings) == (approved, findings)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Looks good to me!",
        '{"verdict": "maybe"}',
        '{"findings": []}',
        "Looks mostly fine to me, maybe, see above?? {verdict:",
        '{"verdict": 3}',
    ],
)
def test_parse_verdict_refuses_what_it_cannot_read(text: str) -> None:
    assert parse_verdict(text) is None


def reviewer(answers: dict[str, AgentResult], calls: list[tuple[str, str, int]]) -> Any:
    async def call(agent: str, prompt: str, round_: int) -> AgentResult:
        calls.append((agent, prompt, round_))
        return answers[agent]

    return call


def test_review_prompt_carries_task_criteria_strategy_and_diff(tmp_path: Path) -> None:
    task = Task(
        id="s1",
        title="Search",
        source=TASK.source,
        body="Add search.",
        acceptance_criteria=("finds by title", "ignores case"),
        metadata={"test_strategy": "unit tests for each field"},
    )
    calls: list[tuple[str, str, int]] = []
    ctx = context(
        tmp_path,
        task=task,
        diff="+def search():\n+    ```odd```\n",
        changed_files=("search.py",),
        round=2,
        run_reviewer=reviewer({"code-reviewer": AgentResult(True, FENCED)}, calls),
    )
    result = asyncio.run(ReviewGate().check(ctx))
    assert result.passed
    [(agent, prompt, round_)] = calls
    assert (agent, round_) == ("code-reviewer", 2)
    for expected in (
        "# Review of task s1: Search",
        "Add search.",
        "1. finds by title",
        "2. ignores case",
        "unit tests for each field",
        "- search.py",
        "````diff\n+def search():",
        "## Round 2",
        '"request_changes"',
    ):
        assert expected in prompt


@pytest.mark.parametrize(
    ("answers", "passed", "action", "findings"),
    [
        ({"a": FENCED, "b": FENCED}, True, GateAction.FAIL, ()),
        (
            {"a": FENCED, "b": '{"verdict": "request_changes", "findings": ["fix"]}'},
            False,
            GateAction.REVISE,
            ("b: fix",),
        ),
        ({"a": FENCED, "b": "I approve wholeheartedly"}, False, GateAction.FAIL, ()),
    ],
)
def test_several_reviewers_must_all_approve(
    tmp_path: Path,
    answers: dict[str, str],
    passed: bool,
    action: GateAction,
    findings: tuple[str, ...],
) -> None:
    calls: list[tuple[str, str, int]] = []
    results = {name: AgentResult(True, text) for name, text in answers.items()}
    gate = ReviewGate(["a", "b"])
    result = asyncio.run(gate.check(context(tmp_path, run_reviewer=reviewer(results, calls))))
    assert (result.passed, result.findings) == (passed, findings)
    assert sorted(agent for agent, _, _ in calls) == ["a", "b"]
    if not passed:
        assert result.action is action
    if "I approve wholeheartedly" in answers.values():
        assert "I approve wholeheartedly" in result.details  # the raw text is kept


def test_a_failed_reviewer_run_is_not_an_approval(tmp_path: Path) -> None:
    answers = {"code-reviewer": AgentResult(False, "", failure=None, reason="exit 1")}
    result = asyncio.run(ReviewGate().check(context(tmp_path, run_reviewer=reviewer(answers, []))))
    assert not result.passed and result.action is GateAction.FAIL
    assert "exit 1" in result.summary


# -- human and order -----------------------------------------------------------------------


def test_human_gate_waits(tmp_path: Path) -> None:
    result = asyncio.run(HumanGate("check the notes").check(context(tmp_path)))
    assert (result.passed, result.action, result.summary) == (
        False,
        GateAction.WAIT,
        "check the notes",
    )


def test_cheap_gates_first_and_a_failure_stops_the_rest(tmp_path: Path) -> None:
    specs = [
        GateSpec("human"),
        GateSpec("review"),
        GateSpec("command", {"run": [sys.executable, "-c", "raise SystemExit(1)"]}),
        GateSpec("contract", {"paths": ["missing.md"]}),
    ]
    assert [s.kind for s in effective_gates(specs, TASK)] == [
        "command",
        "contract",
        "review",
        "human",
    ]
    calls: list[tuple[str, str, int]] = []
    results = asyncio.run(check_gates(specs, context(tmp_path, run_reviewer=reviewer({}, calls))))
    assert [(r.gate.split(":")[0], r.passed) for r in results] == [("command", False)]
    assert calls == []  # no reviewer is paid to read work that fails its tests


def test_only_command_gates_run_on_the_merged_tree() -> None:
    specs = [
        GateSpec("command", {"run": "a"}),
        GateSpec("command", {"run": "b", "on": "branch"}),
        GateSpec("command", {"run": "c", "on": "merged"}),
        GateSpec("review"),
        GateSpec("deliverables", {"paths": ["x"]}),
    ]
    merged = [s.options["run"] for s in effective_gates(specs, TASK, stage="merged")]
    branch = [s.options.get("run", s.kind) for s in effective_gates(specs, TASK)]
    assert merged == ["a", "c"]
    assert branch == ["a", "b", "deliverables", "review"]


# -- validation at plan time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        (
            "  - {kind: command, run: no-such-program-xyz --check}",
            "program 'no-such-program-xyz' is not on PATH",
        ),
        ("  - {kind: command, run: scripts/check.sh}", "program 'scripts/check.sh' does not exist"),
        (
            "  - {kind: review, agents: [code-reviewer, ghost]}",
            "reviewer 'ghost' is not an agent profile",
        ),
        ("  - {kind: contract, paths: [docs/NOPE.md]}", "document 'docs/NOPE.md' does not exist"),
        ("  - {kind: review, on_limit: shrug}", "'on_limit' must be one of"),
        ("  - {kind: command, run: ls, 'on': sometimes}", "'on' must be one of"),
    ],
)
def test_a_gate_that_cannot_work_is_a_config_error_before_the_run(
    git_repo: Path, gates: str, message: str
) -> None:
    text = (
        textwrap.dedent("""\
        version: 1
        defaults: {runner: script}
        tasks:
          - id: a
            title: A
            script: {files: {a.txt: "a"}}
        gates:
        """)
        + "  - {kind: command, run: ls}\n"
        + gates
        + "\n"
    )
    (git_repo / "wavefront.yaml").write_text(text)
    loaded = load_and_plan([], root=git_repo)
    with pytest.raises(ConfigError, match=message) as caught:
        start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    assert caught.value.path.name == "wavefront.yaml"
    assert caught.value.line == 9  # the second gate's line
    assert git(git_repo, "branch", "--list", "wavefront/*") == ""


@pytest.mark.parametrize(
    ("document", "counts"),
    [
        ("# Architecture\\n\\nLayers.\\n", {"done": 2}),
        ("# Architecture\\n\\n## Storage\\n\\nTBD\\n", {"failed": 1, "blocked": 1}),
    ],
)
def test_a_contract_on_a_document_a_task_will_write(
    git_repo: Path, document: str, counts: dict[str, int]
) -> None:
    """The document does not exist when the run is planned, but a task delivers it: that
    is not a configuration error, and the gate then reads what the task wrote."""
    (git_repo / "wavefront.yaml").write_text(
        textwrap.dedent(f"""\
        version: 1
        defaults: {{runner: script, retries: 0}}
        tasks:
          - id: arch
            title: Architecture
            deliverables: [docs/ARCHITECTURE.md]
            script: {{files: {{docs/ARCHITECTURE.md: "{document}"}}}}
          - id: tool
            title: Tool
            depends_on: [arch]
            script: {{files: {{tool.py: "print('ok')"}}}}
        gates:
          - {{kind: contract, paths: [docs/ARCHITECTURE.md]}}
        """)
    )
    loaded = load_and_plan([], root=git_repo)
    result = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions())
    assert result.counts == counts
    with open_journal(git_repo) as journal:
        arch = journal.task(result.run_id, "arch")
        gates = journal.gate_results(journal.attempts(result.run_id, "arch")[-1].id)
    assert arch is not None
    if "failed" in counts:
        assert "placeholder" in arch.reason
        assert "docs/ARCHITECTURE.md:5: placeholder 'TBD'" in gates[-1].findings
    else:
        assert [(g.gate, g.passed) for g in gates] == [
            ("contract", True),
            ("deliverables (declared)", True),
        ]


def test_what_a_command_gate_leaves_behind_is_removed(git_repo: Path) -> None:
    (git_repo / "work.txt").write_text("the agent's uncommitted work\n")
    leaves_mess = (
        "import pathlib\n"
        "pathlib.Path('__pycache__').mkdir()\n"
        "pathlib.Path('__pycache__/m.pyc').write_text('x')\n"
        "pathlib.Path('README.md').write_text('reformatted')\n"
    )
    gate = CommandGate([sys.executable, "-c", leaves_mess])
    result = asyncio.run(gate.check(context(git_repo, log_dir=git_repo.parent / "logs")))
    assert result.passed
    assert not (git_repo / "__pycache__").exists()
    assert (git_repo / "README.md").read_text() == "hello\n"
    assert (git_repo / "work.txt").exists()  # what was there before the gate stays
