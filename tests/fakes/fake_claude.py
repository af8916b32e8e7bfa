"""Fake `claude` (Claude Code 2.x print mode): documented flags only, recorded output."""

from __future__ import annotations

import argparse
import sys

from _fakecli import reject, replay

COMMANDER_UNKNOWN = "error: unknown option '{program}'"


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-v"]):
        print("2.1.197 (Claude Code)")
        return
    parser = argparse.ArgumentParser(prog="claude", add_help=False, allow_abbrev=False)
    parser.add_argument("prompt", nargs="?")
    parser.add_argument("-p", "--print", action="store_true")
    parser.add_argument("--output-format", choices=["text", "json", "stream-json"])
    parser.add_argument("--input-format", choices=["text", "stream-json"])
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--fallback-model")
    parser.add_argument("--max-turns", type=int)
    parser.add_argument(
        "--permission-mode",
        choices=["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk"],
    )
    parser.add_argument("--allowedTools", "--allowed-tools", nargs="+")
    parser.add_argument("--disallowedTools", "--disallowed-tools", nargs="+")
    parser.add_argument("--append-system-prompt")
    parser.add_argument("--system-prompt")
    parser.add_argument("--add-dir", nargs="+")
    parser.add_argument("--mcp-config", nargs="+")
    parser.add_argument("--settings")
    parser.add_argument("--session-id")
    parser.add_argument("-c", "--continue", action="store_true")
    parser.add_argument("-r", "--resume")
    parser.add_argument("--dangerously-skip-permissions", action="store_true")
    args, unknown = parser.parse_known_args()
    if unknown:
        reject(unknown[0], COMMANDER_UNKNOWN, 1)
    if args.print and args.output_format == "stream-json" and not args.verbose:
        reject("", "Error: When using --print, --output-format=stream-json requires --verbose", 1)
    if args.print and not args.prompt:
        reject(
            "",
            "Error: Input must be provided either through stdin or as a prompt argument"
            " when using --print",
            1,
        )
    replay("claude", {"exit1": 1})


if __name__ == "__main__":
    main()
