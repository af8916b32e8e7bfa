"""Fake `goose` (`goose run`): documented flags only, recorded output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _fakecli import reject, replay

CLAP_UNKNOWN = (
    "error: unexpected argument '{program}' found\n\n"
    "Usage: goose run [OPTIONS]\n\nFor more information, try '--help'."
)


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        print("1.9.3")
        return
    if not sys.argv[1:] or sys.argv[1] != "run":
        reject("", "fake goose: only `goose run` is implemented", 2)
    parser = argparse.ArgumentParser(prog="goose run", add_help=False, allow_abbrev=False)
    parser.add_argument("-i", "--instructions")
    parser.add_argument("-t", "--text")
    parser.add_argument("--system")
    parser.add_argument("--recipe")
    parser.add_argument("--params", action="append")
    parser.add_argument("-s", "--interactive", action="store_true")
    parser.add_argument("-n", "--name")
    parser.add_argument("-r", "--resume", action="store_true")
    parser.add_argument("--no-session", action="store_true")
    parser.add_argument("--with-extension", action="append")
    parser.add_argument("--with-builtin", action="append")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--max-tool-repetitions", type=int)
    parser.add_argument("--max-turns", type=int)
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--output-format", choices=["text", "json", "stream-json"])
    parser.add_argument("--provider")
    parser.add_argument("--model")
    args, unknown = parser.parse_known_args(sys.argv[2:])
    if unknown:
        reject(unknown[0], CLAP_UNKNOWN, 2)
    if not (args.instructions or args.text or args.recipe):
        reject("", "Error: Must provide either --instructions (-i), --text (-t), or --recipe", 1)
    if args.instructions and args.instructions != "-" and not Path(args.instructions).is_file():
        reject("", f"Error: instruction file not found: {args.instructions}", 1)
    replay("goose", {"error": 1, "rate_limit": 1, "auth": 1, "exit1": 1})


if __name__ == "__main__":
    main()
