"""Which module holds which command, and the first paragraph of its help.

`wavefront --help` lists the commands from here, so that no command's module is imported
before that command runs (a test keeps this list true to the commands themselves).
"""

from __future__ import annotations

# command -> (its module, the first paragraph of its help, for the command list of --help)
COMMANDS: dict[str, tuple[str, str]] = {
    name: (f"wavefront.cli.{module}", text) for name, module, text in (
        ("agents", "plan", "List the agent profiles, and which agent each task gets and why."),
        ("answer", "decide", "Answer the question a task's agent asked; it goes on with your "
         "answer."),
        ("approve", "decide", "Approve a task waiting for a person; works while the run goes on."),
        ("cancel", "run", "Stop the active run (as Ctrl-C would) and mark its unfinished tasks "
         "cancelled."),
        ("clean", "run", "Remove the kept worktrees, those kept for reuse and the task "
         "branches of runs (integration branches stay)."),
        ("complete", "decide", "Mark subtask SEQ of task JSON feature FEATURE completed, with "
         "SUMMARY (in .tmp/tasks/FEATURE/, in your working tree)."),
        ("demo", "run", "Run the bundled example project end to end with scripted agents (no "
         "model needed): stories in parallel workspaces, a test gate, a review round, the "
         "merge queue."),
        ("doctor", "run", "Which agent CLIs are installed, their versions, whether they look "
         "authenticated, and which runner uses each; with --executor ray, the cluster's "
         "nodes instead: their resources and which agent CLIs each node has."),
        ("init", "workflow", "Write a wavefront.yaml for this repository: the backlogs found, "
         "the agent CLI installed, a test gate guessed from the project, each with a comment."),
        ("log", "inspect", "Print the agent log of a task's attempt (and with --gates, its setup "
         "and gate logs)."),
        ("mcp", "mcp", "Serve wavefront's backlog, runs and decisions as MCP tools (needs "
         "wavefront[mcp])."),
        ("next", "plan", "Show the tasks ready to start, the one to start next first."),
        ("parallel", "plan", "Show every task that could start now, side by side."),
        ("plan", "plan", "Show the plan: waves, agents, dependencies, critical path and "
         "parallelism."),
        ("prompt", "run", "Print the exact prompt task ID would get, before any money is "
         "spent."),
        ("reject", "decide", "Reject a task waiting for a person: its agent gets your --note as a "
         "change request, or with --fail the task fails."),
        ("report", "run", "Write report.md for a run: per task status, agent, attempts, gates, "
         "review findings, deviations, cost and time, plus the run's totals."),
        ("resume", "run", "Continue a run after Ctrl-C, a crash or a reboot (default: the "
         "latest run)."),
        ("retry", "run", "Run failed, conflicting or blocked tasks again and release the tasks "
         "they blocked."),
        ("run", "run", "Run the backlog (or the scope in ARGS) through agents, each in a "
         "repository of its own."),
        ("runs", "inspect", "List the runs recorded in this repository, newest first."),
        ("serve", "web", "Show the repository's runs live in a browser: the task graph, each "
         "agent's log, diffs, gates, cost, and a queue of what waits for you (approve, "
         "reject, retry)."),
        ("show", "inspect", "What a task is and where it stands: state, attempts, gates, "
         "files, worktree."),
        ("status", "inspect", "Each task's state, reason, attempts and cost in a run."),
        ("validate", "plan", "Check the backlog: duplicate ids, missing dependencies, cycles, "
         "scope, statuses."),
    )
}
