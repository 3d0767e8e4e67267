"""Run the firmware on the emulated Pico against the scenarios; print a bench tester's report.

    python -m tools.pico                 (make pico) every scenario
    python -m tools.pico normal remote   only these
    python -m tools.pico --list

Exit status: 0 when every check passed, 1 when one failed (known firmware defects included:
they are named beside the check), 2 for bad input or a run that could not be trusted, 0 with one
line when there is no emulated Pico here (nothing to run).
"""

import argparse
import sys
import time

from tools.pico import emu, relay
from tools.pico import figures as fg
from tools.pico.scenarios import SCENARIOS

SCENARIOS = dict(SCENARIOS, relay=relay.scenario)


def state_lines(res):
    out = []
    for state, (t0, t1) in res.spans.items():
        f = fg.cpu_figures(res.run.trace, t0 * 1000, t1 * 1000)
        out.append(
            "  state %-36s awake %s %% of the time, light sleep %s %%; busy median %s %%, "
            "mean %s %%, max %s %% of the cycles (20 ms windows); wake-ups %s /s  [%d-%d ms]"
            % (
                state,
                f["awake_time_pct"],
                f["light_sleep_pct"],
                f["pico_busy_pct_median"],
                f["busy_pct_mean"],
                f["pico_busy_pct_max"],
                f["wakeups_per_s"],
                t0,
                t1,
            )
        )
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Build the board image as tools/deploy.py does, run it on the emulated Pico "
        "(../shared/rp2emu) against each scenario of tools/pico/scenarios.py and print what a "
        "bench tester checks on the pins and the wire (emulated times).",
    )
    ap.add_argument("names", nargs="*", help="scenarios to run (default: all; see --list)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and stop")
    args = ap.parse_args(argv)
    if args.list:
        for name, fn in SCENARIOS.items():
            doc = (fn.__doc__ or "").strip().splitlines()  # the hang lambdas have none
            print("%-10s %s" % (name, doc[0] if doc else ""))
        return 0
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        print("pico: unknown scenario %s (see --list)" % unknown[0], file=sys.stderr)
        return 2
    try:
        emu.find_tools()
    except emu.PicoSkip as e:
        print("pico: skipped: %s" % e)
        return 0
    except emu.PicoError as e:
        print("pico: %s" % e, file=sys.stderr)
        return 2
    failed = 0
    for name in args.names or list(SCENARIOS):
        t0 = time.monotonic()
        try:
            res = SCENARIOS[name](log=lambda m: print(m, file=sys.stderr, flush=True))
        except emu.PicoError as e:
            print("pico: %s" % e, file=sys.stderr)
            return 2
        print(
            "== %s: %.0f emulated ms in %.0f s wall (trace: %s)"
            % (name, res.run.emulated_ms, time.monotonic() - t0, res.run.folder / "trace.jsonl")
        )
        for c in res.checks:
            print(
                "  %s %s: %s%s"
                % (
                    "PASS" if c.ok else "FAIL",
                    c.name,
                    c.detail.strip(),
                    " [known defect: %s]" % c.defect if c.defect else "",
                )
            )
            failed += not c.ok
        for line in state_lines(res):
            print(line)
        sys.stdout.flush()
    print("pico: %s" % ("%d check(s) FAILED" % failed if failed else "every check passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
