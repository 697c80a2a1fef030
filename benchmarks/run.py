"""Run every benchmark (benchmarks/*_bench.py, then the prompt suite) and print their markdown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE.parent)]),
    }
    scripts = [*sorted(HERE.glob("*_bench.py")), HERE / "prompt_suite.py"]
    failed = 0
    for script in scripts:
        print(f"\n## {script.stem}\n", flush=True)
        failed |= subprocess.call([sys.executable, str(script)], cwd=HERE, env=env) != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
