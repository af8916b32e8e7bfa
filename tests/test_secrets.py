"""Secrets stay out of the journal, the logs and the reports; agents get a controlled
environment.

A secret is the value of an environment variable whose name looks like a credential. The
end-to-end test gives `wavefront` three of them, lets an agent print one (read from a file
in the repository, as an agent printing a `.env` would) and dump its own environment, then
searches everything wavefront wrote.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chaos.harness import git, make_repo, run_cli, wavefront_env, write_backlog
from wavefront.redact import redact, redact_data, secret_values

SECRETS = {
    "OPENAI_API_KEY": "sk-test-0123456789abcdefSECRET",
    "GITHUB_TOKEN": "ghp_TESTtoken987654321zyx",
    "DB_PASSWORD": "correct-horse-battery-staple",
}


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("OPENAI_API_KEY", True),
        ("ANTHROPIC_API_KEY", True),
        ("GITHUB_TOKEN", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("DB_PASSWORD", True),
        ("SLACK_WEBHOOK_SECRET", True),
        ("GOOGLE_APPLICATION_CREDENTIALS", True),
        ("SENTRY_DSN", True),
        ("api_key", True),
        ("HOME", False),
        ("PATH", False),
        ("PWD", False),
        ("SSH_AUTH_SOCK", False),
        ("KEYBOARD_LAYOUT", False),
        ("MONKEYS", False),
    ],
)
def test_which_names_are_secrets(name: str, secret: bool) -> None:
    value = "a-long-enough-value-123"
    assert (name in secret_values({name: value})) is secret


def test_redact_replaces_every_occurrence_and_names_the_variable() -> None:
    env = {**SECRETS, "HOME": "/home/someone", "SHORT_TOKEN": "abc"}
    text = f"key={SECRETS['OPENAI_API_KEY']} again {SECRETS['OPENAI_API_KEY']} home=/home/someone"
    assert redact(text, env) == (
        "key=[redacted:OPENAI_API_KEY] again [redacted:OPENAI_API_KEY] home=/home/someone"
    )
    assert redact("abc stays: too short to be told from chance", env).startswith("abc")
    nested = {"reason": f"failed with {SECRETS['GITHUB_TOKEN']}", "list": [SECRETS["DB_PASSWORD"]]}
    assert redact_data(nested, env) == {
        "reason": "failed with [redacted:GITHUB_TOKEN]",
        "list": ["[redacted:DB_PASSWORD]"],
    }


def test_a_value_that_contains_another_secret_is_redacted_whole() -> None:
    env = {"OUTER_TOKEN": "prefix-inner-secret-suffix", "INNER_SECRET": "inner-secret"}
    assert redact("x prefix-inner-secret-suffix y", env) == "x [redacted:OUTER_TOKEN] y"


def everything_written(repo: Path) -> dict[str, str]:
    """Every text wavefront stored: journal rows, log files, report and status."""
    texts: dict[str, str] = {}
    db = sqlite3.connect(repo / ".wavefront" / "journal.db")
    try:
        texts["journal"] = "\n".join(db.iterdump())
    finally:
        db.close()
    for path in (repo / ".wavefront").rglob("*"):
        if path.is_file() and path.suffix in (".log", ".txt", ".json", ".md"):
            texts[str(path)] = path.read_text(errors="replace")
    report = run_cli(repo, "report", "-o", str(repo.parent / "report.md"))
    assert report.returncode == 0, report.stderr
    texts["report.md"] = (repo.parent / "report.md").read_text()
    status = run_cli(repo, "status", "--json")
    texts["status --json"] = status.stdout
    return texts


def test_secrets_never_reach_the_journal_logs_or_reports(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "settings.env").write_text(f"GITHUB_TOKEN={SECRETS['GITHUB_TOKEN']}\n")
    git(repo, "add", "settings.env")
    git(repo, "commit", "-q", "-m", "settings")
    leaky = (
        "cat settings.env; env | sort > agent-env.txt;"
        ' echo "failing with $(cat settings.env)" >&2; exit 1'
    )
    write_backlog(
        repo,
        [
            {
                "id": "leak",
                "title": "prints a token",
                "runner": "leaky",
                "body": f"the password is {SECRETS['DB_PASSWORD']}",
            },
            {"id": "envdump", "title": "dumps its env", "runner": "dumper"},
        ],
        runners={
            "leaky": {"kind": "command", "argv_template": ["sh", "-c", leaky, "agent"]},
            "dumper": {"kind": "command", "argv_template": ["sh", "-c", "env | sort > env.txt"]},
        },
        gates=[{"kind": "command", "run": "sh -c 'cat settings.env; exit 0'"}],
    )
    finished = run_cli(repo, "run", "--no-progress", env=wavefront_env(None, **SECRETS))
    assert finished.returncode == 1, finished.stdout + finished.stderr

    # The agent's environment was the controlled one: none of the secrets, nor their names.
    run_id = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/wavefront/")
    agent_env = git(repo, "show", f"{run_id.strip()}:env.txt")
    assert "PATH=" in agent_env
    for name in SECRETS:
        assert name not in agent_env

    texts = everything_written(repo)
    texts["wavefront output"] = finished.stdout + finished.stderr
    assert any("[redacted:GITHUB_TOKEN]" in text for text in texts.values())
    for where, text in texts.items():
        for name, value in SECRETS.items():
            assert value not in text, f"{name}'s value is in {where}"
