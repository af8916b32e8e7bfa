"""Fake `codex` (Codex CLI `exec`): documented flags only, recorded JSON-lines output."""

from __future__ import annotations

import argparse
import sys

from _fakecli import reject, replay

CLAP_UNKNOWN = (
    "error: unexpected argument '{program}' found\n\n"
    "Usage: codex exec [OPTIONS] [PROMPT]\n\nFor more information, try '--help'."
)


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print("codex-cli 0.171.0")
        return
    if not sys.argv[1:] or sys.argv[1] != "exec":
        reject("", "fake codex: only `codex exec` is implemented", 2)
    parser = argparse.ArgumentParser(prog="codex exec", add_help=False, allow_abbrev=False)
    parser.add_argument("prompt", nargs="?")
    parser.add_argument("--json", "--experimental-json", action="store_true")
    parser.add_argument(
        "-s", "--sandbox", choices=["read-only", "workspace-write", "danger-full-access"]
    )
    parser.add_argument("-m", "--model")
    parser.add_argument("-c", "--config", action="append")
    parser.add_argument("-C", "--cd")
    parser.add_argument("-p", "--profile")
    parser.add_argument("-o", "--output-last-message")
    parser.add_argument("--output-schema")
    parser.add_argument("--full-auto", action="store_true")
    parser.add_argument("--dangerously-bypass-approvals-and-sandbox", action="store_true")
    parser.add_argument("--skip-git-repo-check", action="store_true")
    parser.add_argument("--ephemeral", action="store_true")
    parser.add_argument("--color", choices=["always", "never", "auto"])
    args, unknown = parser.parse_known_args(sys.argv[2:])
    if unknown:
        reject(unknown[0], CLAP_UNKNOWN, 2)
    if not args.prompt:
        reject("", "No prompt provided. Either specify one as an argument or pipe it in.", 1)
    replay("codex", {"error": 1, "rate_limit": 1, "auth": 1, "exit1": 1})


if __name__ == "__main__":
    main()
