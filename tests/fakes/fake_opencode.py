"""Fake `opencode` (`opencode run --format json`): documented flags, recorded events."""

from __future__ import annotations

import argparse
import sys

from _fakecli import reject, replay

YARGS_UNKNOWN = "Unknown argument: {program}"


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-v"]):
        print("1.18.33")
        return
    if not sys.argv[1:] or sys.argv[1] != "run":
        reject("", "fake opencode: only `opencode run` is implemented", 1)
    parser = argparse.ArgumentParser(prog="opencode run", add_help=False, allow_abbrev=False)
    parser.add_argument("message", nargs="*")
    parser.add_argument("--command")
    parser.add_argument("-c", "--continue", action="store_true")
    parser.add_argument("-s", "--session")
    parser.add_argument("--fork", action="store_true")
    parser.add_argument("--share", action="store_true")
    parser.add_argument("-m", "--model")
    parser.add_argument("--agent")
    parser.add_argument("--format", choices=["default", "json"])
    parser.add_argument("-f", "--file", action="append")
    parser.add_argument("--title")
    parser.add_argument("--attach")
    parser.add_argument("--print-logs", action="store_true")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARN", "ERROR"])
    parser.add_argument("--dir")
    parser.add_argument("--port", type=int)
    parser.add_argument("--variant")
    parser.add_argument("--thinking", action="store_true")
    parser.add_argument("--auto", action="store_true")
    args, unknown = parser.parse_known_args(sys.argv[2:])
    if unknown:
        reject(unknown[0].lstrip("-"), YARGS_UNKNOWN, 1)
    if not args.message and not args.command:
        reject("", "Error: You must provide a message or a command", 1)
    if args.model and "/" not in args.model:
        reject("", f"Error: model must be in the form provider/model, got {args.model}", 1)
    replay("opencode", {"error": 1, "rate_limit": 1, "auth": 1, "exit1": 1})


if __name__ == "__main__":
    main()
