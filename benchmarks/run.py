"""`make bench`: run every benchmark, print its markdown table, keep the raw figures.

Figures go to benchmarks/results/<name>.json (git-ignored); copy the tables into README.md with the
machine they ran on (printed first).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: Module names under benchmarks/, each with main() -> dict and report(dict) -> str.
BENCHMARKS = ["api_bench", "load_bench"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(names: list[str]) -> None:
    results = REPO / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    print(f"Machine: {machine()}\n")
    for name in names or BENCHMARKS:
        module = importlib.import_module(f"benchmarks.{name}")
        outcome = module.main()
        (results / f"{name}.json").write_text(json.dumps(outcome, indent=2))
        print(f"## {name}\n\n{module.report(outcome)}\n", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
