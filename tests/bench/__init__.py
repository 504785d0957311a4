"""Benchmark harness: ``python -m tests.bench.run`` (see README.md in this folder)."""
