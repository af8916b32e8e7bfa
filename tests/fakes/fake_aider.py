"""Fake `aider` (scripting mode): documented flags only, recorded output (captured from
aider 0.86.2). Like aider, it exits 0 when the model call failed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _fakecli import replay


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print("aider 0.86.2")
        return
    parser = argparse.ArgumentParser(prog="aider", allow_abbrev=False)
    parser.add_argument("files", nargs="*")
    parser.add_argument("--model")
    parser.add_argument("--weak-model")
    parser.add_argument("--edit-format")
    parser.add_argument("-m", "--message")
    parser.add_argument("-f", "--message-file")
    parser.add_argument("--yes-always", action="store_true")
    parser.add_argument("--read", action="append")
    parser.add_argument("--file", action="append")
    parser.add_argument("--analytics-disable", action="store_true")
    parser.add_argument("--chat-history-file")
    parser.add_argument("--input-history-file")
    parser.add_argument("--model-settings-file")
    for flag in (
        "auto-commits",
        "stream",
        "pretty",
        "check-update",
        "show-release-notes",
        "gitignore",
        "detect-urls",
        "suggest-shell-commands",
        "show-model-warnings",
        "git",
        "analytics",
    ):
        parser.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction)
    args = parser.parse_args()  # unknown flags: "aider: error: unrecognized arguments", exit 2
    if args.message_file and not Path(args.message_file).is_file():
        sys.stderr.write(f"Error: Message file not found: {args.message_file}\n")
        sys.exit(1)
    replay("aider", {"exit1": 1})


if __name__ == "__main__":
    main()
