"""What a run on a cluster says at its start about the settings its workers do not get."""

from __future__ import annotations

from wavefront.engine.settings import RunSettings
from wavefront.runs.settings import cluster_notes

ON_A_CLUSTER = {"executor": "ray", "ray_address": "127.0.0.1:6379"}


def test_a_run_on_this_machine_says_nothing() -> None:
    assert cluster_notes(RunSettings(mcp=True, sandbox="checkout",
                                     copy_files=(".env",))) == []


def test_a_run_on_a_cluster_names_each_setting_its_workers_do_not_get() -> None:
    notes = cluster_notes(RunSettings(**ON_A_CLUSTER, mcp=True, sandbox="bwrap",
                                      copy_files=(".env",)))
    assert len(notes) == 2
    assert notes[0].startswith("mcp: true applies to agents on this machine only")
    assert notes[1].startswith("workspace copy: files reach workspaces on this machine only")
    assert all(len(note) <= 160 for note in notes)


def test_a_cluster_run_without_those_settings_says_nothing() -> None:
    assert cluster_notes(RunSettings(**ON_A_CLUSTER)) == []
