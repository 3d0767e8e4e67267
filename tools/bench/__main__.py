"""Run every benchmark module and print each figure with its goal as it is measured.

    python -m tools.bench [--json] [--only NAME]

A module's GOALS maps a key to (op, limit): op is "<=", ">=" or "=="; limit is a number or the
name of another key of the same run (e.g. a deadline measured beside the figure). A figure is
printed as soon as its module has it (a long module's run(report) reports figures as it measures
them): key, value, and where a goal applies the goal and pass / FAIL.
--json also prints exactly one JSON object (key -> value) on stdout at the end; the figures then
go to stderr. Exit 0 when every goal passed, 1 when one failed (the summary names them), 2 for
bad arguments or no module matching --only.
"""

import argparse
import importlib
import inspect
import json
import pkgutil
import sys
import time

import tools.bench as pkg

OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}


def modules(only=None):
    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name[:6] == "bench_")
    return [n for n in names if only is None or only in n]


def verdict(value, goal, results):
    """("goal text", True/False) for a figure with a goal, ("-", None) for one without."""
    if goal is None:
        return "-", None
    op, limit = goal
    if isinstance(limit, str):  # another key of the run
        limit_text, limit = "%s (%s)" % (limit, results.get(limit)), results.get(limit)
    else:
        limit_text = str(limit)
    ok = isinstance(value, (int, float)) and limit is not None and OPS[op](value, limit)
    return "%s %s" % (op, limit_text), ok


def figure_line(key, value, goal, results):
    text, ok = verdict(value, goal, results)
    if ok is None:
        goal_text = ""
    else:
        goal_text = "goal %-24s %s" % (text, "pass" if ok else "FAIL")
    shown = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return ("%-36s %12s  %s" % (key, shown, goal_text)).rstrip(), ok


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Run the benchmarks (tools/bench/bench_*.py); each figure beside its goal.",
    )
    ap.add_argument("--json", action="store_true", help="also print one JSON object on stdout")
    ap.add_argument("--only", help="run only the modules whose name contains this")
    args = ap.parse_args(argv)
    names = modules(args.only)
    if not names:
        print("bench: no benchmark module matches %r" % args.only, file=sys.stderr)
        return 2
    out = sys.stderr if args.json else sys.stdout
    results, failed, with_goal = {}, [], 0
    for i, name in enumerate(names, 1):
        t0 = time.monotonic()
        print("bench [%d/%d] %s ..." % (i, len(names), name), file=sys.stderr, flush=True)
        mod = importlib.import_module("tools.bench." + name)
        goals = getattr(mod, "GOALS", {})

        def report(figures, goals=goals):
            nonlocal with_goal
            results.update(figures)
            for key, value in sorted(figures.items()):
                line, ok = figure_line(key, value, goals.get(key), results)
                print(line, file=out, flush=True)
                with_goal += ok is not None
                if ok is False:
                    failed.append(key)

        # a long module reports its figures as it measures them; the rest come with its result
        if "report" in inspect.signature(mod.run).parameters:
            got = mod.run(report=report)
        else:
            got = mod.run()
        report({k: v for k, v in got.items() if k not in results})
        print(
            "bench [%d/%d] %s done in %.1f s" % (i, len(names), name, time.monotonic() - t0),
            file=sys.stderr,
            flush=True,
        )
    if args.json:
        print(json.dumps(results, sort_keys=True))
    print(
        "bench: %d figures, %d with a goal: %d pass, %d FAIL%s"
        % (
            len(results),
            with_goal,
            with_goal - len(failed),
            len(failed),
            " (%s)" % ", ".join(failed) if failed else "",
        ),
        file=out,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
