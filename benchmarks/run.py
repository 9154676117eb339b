"""Run the benchmarks: ``python -m benchmarks [--quick] [--only NAME] [--minutes N]`` or
``python benchmarks/run.py``. Tables are printed; JSON goes to benchmarks/results/.

``mockserver-soak`` (10 minutes, or ``--minutes N``) runs only when asked with ``--only``."""

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
#: Long runs, only with ``--only``.
ON_REQUEST = ["mockserver-soak"]
MODULES = {"mockserver": "mockserver_bench", "mockserver-soak": "mockserver_soak"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller N and fewer rounds")
    parser.add_argument("--only", action="append", choices=NAMES + ON_REQUEST,
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="length of mockserver-soak after its warm-up (default: 10, 1 with --quick)")
    args = parser.parse_args(argv)
    from benchmarks.common import machine_line

    print(f"# machine: {machine_line()}\n", flush=True)
    for name in args.only or NAMES:
        module = importlib.import_module(f"benchmarks.{MODULES.get(name, name)}")
        start = time.perf_counter()
        if name in ON_REQUEST:
            module.run(quick=args.quick, minutes=args.minutes)
        else:
            module.run(quick=args.quick)
        print(f"({name}: {time.perf_counter() - start:.1f} s)\n", flush=True)


if __name__ == "__main__":
    main()
