"""Fake `cursor-agent` (print mode): documented flags only, recorded output. On failure it
prints no JSON, only a message on stderr, and exits non-zero."""

from __future__ import annotations

import argparse
import sys

from _fakecli import reject, replay

COMMANDER_UNKNOWN = "error: unknown option '{program}'"


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-v"]):
        print("2025.09.04-fc40cd1")
        return
    parser = argparse.ArgumentParser(prog="cursor-agent", add_help=False, allow_abbrev=False)
    parser.add_argument("prompt", nargs="*")
    parser.add_argument("-p", "--print", action="store_true")
    parser.add_argument("--output-format", choices=["text", "json", "stream-json"])
    parser.add_argument("--stream-partial-output", action="store_true")
    parser.add_argument("-m", "--model")
    parser.add_argument("-f", "--force", action="store_true")
    parser.add_argument("-a", "--api-key")
    parser.add_argument("--resume")
    args, unknown = parser.parse_known_args()
    if unknown:
        reject(unknown[0], COMMANDER_UNKNOWN, 1)
    if args.output_format and not args.print:
        reject("", "error: --output-format is only valid with --print", 1)
    replay("cursor", {"error": 1, "rate_limit": 1, "auth": 1, "exit1": 1})


if __name__ == "__main__":
    main()
