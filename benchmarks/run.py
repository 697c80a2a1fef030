"""`make bench`: run the benchmarks and print their markdown tables, after the machine they ran on.

`make bench` runs the CPU benchmarks below; `make bench BENCH="api_bench load_bench"` runs the named
ones; `gpu_bench` (a CUDA device needed), `fairness` (an abusive tenant against another,
minutes of trickling fetches) and the soaks (`soak`: 30 minutes of mixed load through every
dialect beside an abusive tenant; `soak_restarts`: stops, restarts and a full disk) are only run
when named. Each is a script in this folder
that prints its own tables; copy them into README.md with the machine line.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = [
    "api_bench",
    "portrait_bench",
    "prompt_suite",
    "scaleout_bench",
    "load_bench",
    "workers_bench",
]


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(names: list[str]) -> int:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE.parent)]),
    }
    print(f"Machine: {machine()}", flush=True)
    failed = 0
    for name in names or DEFAULT:
        print(f"\n## {name}\n", flush=True)
        script = HERE / f"{name}.py"
        failed |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent, env=env) != 0
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
