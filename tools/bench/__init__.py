"""Benchmarks: each tools/bench/bench_*.py has `run() -> dict` of measured keys.

Targets live here, never in timed tests. A key's value is what was measured on this machine
(MicroPython VM keys run the unix port under a Pico-sized heap).
"""
