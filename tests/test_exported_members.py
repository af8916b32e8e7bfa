"""The public API is exactly `wavefront.__all__`: adding or dropping a name is deliberate."""

from __future__ import annotations

import subprocess
import sys

import wavefront

PUBLIC = {
    "AgentProfile", "AgentResult", "Backlog", "BacklogError", "ConfigError", "FailureKind",
    "GateAction", "GateResult", "GateSpec", "JournalError", "Plan", "PlanError", "PlanOptions",
    "RunLockedError", "RunOptions", "RunResult", "SourceLocation", "Task", "TaskStatus",
    "WavefrontError", "WorkspaceError", "__version__", "discover_backlog", "load_and_plan",
    "load_backlog", "resume_run", "start_run",
}


def test_all_lists_exactly_the_public_api() -> None:
    assert set(wavefront.__all__) == PUBLIC
    assert len(wavefront.__all__) == len(PUBLIC)  # no name listed twice


def test_every_exported_name_exists_and_is_defined_in_wavefront() -> None:
    for name in wavefront.__all__:
        member = getattr(wavefront, name)
        module = getattr(member, "__module__", "wavefront")
        assert module.startswith("wavefront"), (name, module)


def test_public_names_not_exported_are_flagged() -> None:
    helpers = {"TYPE_CHECKING"}
    stray = {name for name in vars(wavefront) if not name.startswith("_")
             and not isinstance(getattr(wavefront, name), type(sys))} - helpers
    assert stray <= set(wavefront.__all__), sorted(stray - set(wavefront.__all__))


def test_help_does_not_import_the_heavy_parts() -> None:
    code = ("import sys; from wavefront.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('wavefront.engine.loop', 'wavefront.journal.database', 'sqlite3')"
            " if m in sys.modules]\nprint('heavy=' + ','.join(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "heavy="
