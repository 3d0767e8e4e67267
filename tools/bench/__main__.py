"""Run every benchmark module and print the measured keys.

    python -m tools.bench [--json] [--only NAME]

--json prints exactly one JSON object (key -> value) on stdout; progress goes to stderr.
A module's GOALS (key -> "goal <= 20") are printed beside its figures.
"""

import argparse
import importlib
import json
import pkgutil
import sys
import time

import tools.bench as pkg


def modules(only=None):
    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name[:6] == "bench_")
    return [n for n in names if only is None or only in n]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the benchmarks (tools/bench/bench_*.py).")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--only", help="run only the modules whose name contains this")
    args = ap.parse_args(argv)
    names = modules(args.only)
    if not names:
        print("bench: no benchmark modules found", file=sys.stderr)
        return 1
    results = {}
    goals = {}
    for i, name in enumerate(names, 1):
        t0 = time.monotonic()
        print("bench [%d/%d] %s ..." % (i, len(names), name), file=sys.stderr, flush=True)
        mod = importlib.import_module("tools.bench." + name)
        results.update(mod.run())
        goals.update(getattr(mod, "GOALS", {}))
        print(
            "bench [%d/%d] %s done in %.1f s" % (i, len(names), name, time.monotonic() - t0),
            file=sys.stderr,
            flush=True,
        )
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        width = max((len(k) for k in results), default=0)
        for key in sorted(results):
            goal = "  (%s)" % goals[key] if key in goals else ""
            print("%-*s  %s%s" % (width, key, results[key], goal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
