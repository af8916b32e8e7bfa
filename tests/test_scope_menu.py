"""The out-of-scope question in a real terminal: the story workflow's numbered menu
(1 expand, 2 skip, 3 cancel) and the words both answer it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest


def stories(root: Path) -> None:
    folder = root / "docs" / "stories"
    folder.mkdir(parents=True)
    (folder / "1.1.base.md").write_text("# Story 1.1: Base\n\n## Status\n\nDraft\n")
    (folder / "1.2.next.md").write_text(
        "# Story 1.2: Next\n\n## Status\n\nDraft\n\n**Dependencies**: 1.1\n")


def answer_in_terminal(root: Path, reply: str) -> tuple[int, str]:
    """Run `wavefront plan 1.2` on a pseudo-terminal, answer the question, return the
    exit code and everything the terminal showed."""
    leader, follower = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "wavefront", "plan", "1.2", "-C", str(root)],
                             stdin=follower, stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 60
    answered = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and b"Enter your choice" in shown:
                os.write(leader, reply.encode() + b"\r")
                answered = True
            if child.poll() is not None and not ready:
                break
        code = child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        os.close(leader)
    return code, shown.decode(errors="replace")


@pytest.mark.parametrize(("reply", "code", "seen"), [
    ("1", 0, "2 tasks in 2 waves"), ("expand", 0, "2 tasks in 2 waves"),
    ("2", 0, "skipped (dependencies outside the scope): 1.2"),
    ("skip", 0, "skipped (dependencies outside the scope): 1.2"), ("3", 1, "Aborted"),
])
def test_the_numbered_menu_and_the_words_both_answer(
    tmp_path: Path, reply: str, code: int, seen: str
) -> None:
    stories(tmp_path)
    exit_code, shown = answer_in_terminal(tmp_path, reply)
    menu = shown.split("Enter your choice", 1)
    assert "1. expand the scope" in menu[0] and "3. cancel" in menu[0]
    after = menu[1] if len(menu) > 1 else ""
    assert exit_code == code, shown
    assert seen in after
