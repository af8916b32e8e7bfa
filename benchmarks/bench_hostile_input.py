"""How fast hostile files are refused: each must fail in well under a second.

    python benchmarks/bench_hostile_input.py        # best of 5 for each file

A YAML alias bomb (ten nested levels of ten aliases: 10**10 values once expanded), a
document whose alias holds itself, and a NUL byte are each loaded as a `wavefront.yaml`
through `load_backlog`; the time until the `BacklogError` is printed per file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from wavefront.backlog import load_backlog
from wavefront.errors import BacklogError


def alias_bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join([*lines, "tasks:", f"  - {{id: a, title: x, body: *l{levels - 1}}}", ""])


FILES = {
    "alias bomb, 10 levels": alias_bomb(10),
    "alias holding itself": "tasks: &t\n  - *t\n",
    "NUL byte": "version: 1\ntasks:\n  - {id: a, title: \"x\0\"}\n",
}


def refusal_time(path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            load_backlog(path)
        except BacklogError:
            best = min(best, time.perf_counter() - started)
        else:
            raise SystemExit(f"{path} was loaded, not refused")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wavefront.yaml"
        for name, text in FILES.items():
            path.write_text(text, encoding="utf-8")
            print(f"{name:<24} refused in {refusal_time(path, repeat) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
