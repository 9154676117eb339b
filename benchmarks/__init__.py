"""pmsync benchmarks (not part of the test run).

Run ``python -m benchmarks [--quick] [--only NAME]`` or ``python benchmarks/run.py``.
Every benchmark prints a table and writes JSON into ``benchmarks/results/``.
See ``benchmarks/RESULTS.md`` for the figures of a full run.
"""
