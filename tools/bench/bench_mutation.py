"""Mutation score of the safety code (tools/mutation.py: operators, targets and tests there).

  mutation_killed_pct    mutants the fast tests kill, % (goal >= 95)
  mutation_mutants       mutants made
  mutation_survivors     mutants no test noticed; each is printed (file:line operator) on stderr

Runs the mutants in forked CPython processes, one per CPU."""

import sys

from tools import mutation


def run():
    r = mutation.run()
    if r is None:
        raise SystemExit("bench_mutation: the unchanged code fails its tests")
    for w in r["survivors"]:
        print("mutation: survived %s" % w, file=sys.stderr)
    return {
        "mutation_killed_pct": round(100.0 * r["killed"] / r["total"], 1),
        "mutation_mutants": r["total"],
        "mutation_survivors": len(r["survivors"]),
    }
