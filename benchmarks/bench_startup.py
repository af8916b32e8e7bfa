"""How long `wavefront --help` takes, against a bare Python and `import click` alone.

    python benchmarks/bench_startup.py            # 15 rounds
    python benchmarks/bench_startup.py --rounds 3 --json

Target: `wavefront --help` under 100 ms. Each round runs every command once, in turn, so a
busy minute of the machine weighs on all of them alike; the figures are each command's
median and fastest wall time. `wavefront --help` runs as users run it, through the console
script, at 80 columns (the stored page) and at 60 (click renders the page).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MS = 100.0


def commands() -> dict[str, tuple[list[str], dict[str, str]]]:
    script = shutil.which("wavefront", path=str(Path(sys.executable).parent)) or "wavefront"
    wide = {**os.environ, "COLUMNS": "80"}
    return {
        "bare python": ([sys.executable, "-c", "pass"], wide),
        "import click": ([sys.executable, "-c", "import click"], wide),
        "wavefront --help": ([script, "--help"], wide),
        "wavefront --help, 60 columns": ([script, "--help"], {**os.environ, "COLUMNS": "60"}),
    }


def measure(rounds: int) -> dict[str, dict[str, float]]:
    runs = commands()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (argv, env) in runs.items():
            started = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
            times[name].append((time.perf_counter() - started) * 1e3)
    return {name: {"median_ms": statistics.median(values), "fastest_ms": min(values)}
            for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of every command (15)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = measure(args.rounds)
    if args.json:
        print(json.dumps(results))
        return
    for name, figures in results.items():
        print(f"{name:30} median {figures['median_ms']:6.1f} ms"
              f"   fastest {figures['fastest_ms']:6.1f} ms")
    help_ms = results["wavefront --help"]["median_ms"]
    verdict = "meets" if help_ms < TARGET_MS else "misses"
    print(f"wavefront --help {verdict} the target of {TARGET_MS:.0f} ms "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
