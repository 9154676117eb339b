"""Run the benchmarks: ``python -m benchmarks [--quick] [--only NAME]`` or
``python benchmarks/run.py``. Tables are printed; JSON goes to benchmarks/results/."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAMES = ["decode", "pipeline", "throughput", "latency", "reconnect", "memory", "churn",
         "mockserver"]
MODULES = {"mockserver": "mockserver_bench"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller N and fewer rounds")
    parser.add_argument("--only", action="append", choices=NAMES,
                        help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    from benchmarks.common import machine_line

    print(f"# machine: {machine_line()}\n", flush=True)
    for name in args.only or NAMES:
        module = importlib.import_module(f"benchmarks.{MODULES.get(name, name)}")
        start = time.perf_counter()
        module.run(quick=args.quick)
        print(f"({name}: {time.perf_counter() - start:.1f} s)\n", flush=True)


if __name__ == "__main__":
    main()
