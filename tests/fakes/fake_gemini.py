"""Fake `gemini` (Gemini CLI headless): documented flags only, recorded JSON output.

In JSON mode a fatal error is a JSON object on stderr and the exit status is the error's
code (Node's `process.exit(429)` leaves 429 & 0xff = 173).
"""

from __future__ import annotations

import argparse
import sys

from _fakecli import reject, replay

YARGS_UNKNOWN = "Unknown argument: {program}"


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-v"]):
        print("0.61.0")
        return
    parser = argparse.ArgumentParser(prog="gemini", add_help=False, allow_abbrev=False)
    parser.add_argument("query", nargs="*")
    parser.add_argument("-p", "--prompt")
    parser.add_argument("-m", "--model")
    parser.add_argument("-o", "--output-format", choices=["text", "json", "stream-json"])
    parser.add_argument("--approval-mode", choices=["default", "auto_edit", "yolo", "plan"])
    parser.add_argument("-y", "--yolo", action="store_true")
    parser.add_argument("-s", "--sandbox", action="store_true")
    parser.add_argument("--allowed-tools", nargs="+")
    parser.add_argument("--policy", action="append")
    parser.add_argument("--include-directories", nargs="+")
    parser.add_argument("-d", "--debug", action="store_true")
    parser.add_argument("-r", "--resume")
    parser.add_argument("--raw-output", action="store_true")
    args, unknown = parser.parse_known_args()
    if unknown:
        reject(unknown[0].lstrip("-"), YARGS_UNKNOWN, 1)
    if args.yolo and args.approval_mode:
        reject("", "Cannot use both --yolo (-y) and --approval-mode together.", 42)
    replay(
        "gemini",
        {"error": 1, "rate_limit": 173, "auth": 41, "max_turns": 53, "exit1": 1},
    )


if __name__ == "__main__":
    main()
