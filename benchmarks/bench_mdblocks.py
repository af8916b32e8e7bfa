"""Does the hand-written block scanner still pay for itself? Stories loaded both ways.

    python benchmarks/bench_mdblocks.py              # 2,000 generated stories, best of 3

The stories loader reads a file's block structure with `backlog.mdblocks` (a line scanner
for the shapes stories have) and falls back to markdown-it's tokens for anything else.
This loads the same generated backlog with the scanner and with markdown-it alone, and
prints both times per story and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_plan import generate_stories
from wavefront.backlog import storytext
from wavefront.backlog.stories import load


def best_load(path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        load(path)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = generate_stories(Path(tmp), args.stories, seed=2024)
        scanner = best_load(path, args.repeat)
        # markdown-it alone: the scanner's entry points answer "not a shape I read".
        storytext.flat_blocks = lambda text: None  # type: ignore[assignment]
        storytext.scan_blocks = lambda text, try_flat=True: None  # type: ignore[assignment]
        markdown_it = best_load(path, args.repeat)
    per = 1e6 / args.stories
    print(f"{args.stories} stories, best of {args.repeat}")
    print(f"  block scanner : {scanner * per:7.0f} µs per story")
    print(f"  markdown-it   : {markdown_it * per:7.0f} µs per story")
    print(f"  scanner is {markdown_it / scanner:.1f}x faster")


if __name__ == "__main__":
    main()
