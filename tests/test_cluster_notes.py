"""What a run on a cluster says at its start about the settings its workers do not get."""

from __future__ import annotations

from wavefront.engine.settings import RunSettings
from wavefront.runs.settings import cluster_notes

ON_A_CLUSTER = {"executor": "ray", "ray_address": "127.0.0.1:6379"}


def test_a_run_on_this_machine_says_nothing() -> None:
    assert cluster_notes(RunSettings(mcp=True, sandbox="checkout",
                                     copy_files=(".env",))) == []


def test_a_run_on_a_cluster_says_its_workers_get_no_mcp_server() -> None:
    notes = cluster_notes(RunSettings(**ON_A_CLUSTER, mcp=True, sandbox="bwrap",
                                      copy_files=(".env",)))
    assert notes == ["mcp: true applies to agents on this machine only: agents on the "
                     "cluster get no MCP server, so they cannot ask a person"]


def test_a_cluster_run_without_an_mcp_server_says_nothing() -> None:
    # The sandbox and the copied files reach the workers.
    assert cluster_notes(RunSettings(**ON_A_CLUSTER, sandbox="checkout",
                                     copy_files=(".env",))) == []
