"""python -m tools.sim: run a scenario through the simulator and write its outputs.

    python -m tools.sim run scenarios/demo.json --out out/demo
    python -m tools.sim check scenarios/*.json

`run` writes DIR/timeline.jsonl (one record per change of a signal), DIR/events.jsonl (the
firmware's own event log), DIR/summary.json (final values, event count, frames by type, rejects
by reason) and DIR/timeline.png. A malformed scenario gets one line naming the key, exit 2.
"""

import argparse
import sys

import tools.sim  # noqa: F401  (board import path, MicroPython shims)
from tools.sim import scenario

EPILOG = """\
scenario format (JSON object; normative, see tools/sim/scenario.py):
  name, duration_s, settings {firmware setting: value} (the simulator sets none itself),
  system (the hardware) {batteries, series, multi_firmware, multi_assistant, multis, gx, dmc,
          mains_detector, soc, remote_wiring: bridge|l_low|h_high, btv_lines {signal: input},
          btv_ok_level},
  inputs [{"t": s, "btv": ok|prealarm|low_cell|high_cell|low_temp|high_temp|open|model,
           "battery": i, "cell_v": V, "temp_c": C, "load_a": A, "charge_a": A,
           "remote": on|off, "ac_in": bool, "multi": present|absent, "bms": running|absent,
           "gx_command": on|off|charger_only|null, "input_stuck": atd|atc|null, "bus_noise": p}]

bus fidelity: "full" sends a sync every 20 ms as a real Multi does; "fast" every 200 ms (every
frame type and rule kept, 10x fewer frames) for long runs; "auto" (default): full up to 1 h of
simulated time, fast beyond. The firmware runs unchanged in all; summary.json says which.
"""


def _load(path):
    from tools.sim import fwhost

    return scenario.load(path, settings_check=fwhost.check_settings)


def cmd_run(args):
    from tools.sim.runner import Sim

    scn = _load(args.scenario)
    # a progress line rewritten in place on a terminal; a log or a pipe gets one plain line
    live = not args.quiet and sys.stderr.isatty()
    sim = Sim(scn, fidelity=args.fidelity, progress=live, scheduler=args.scheduler)
    if not args.quiet and not live:
        print(
            "sim: %s: simulating %.2f h (%s bus) ..."
            % (scn.name, scn.duration_s / 3600, sim.fidelity),
            file=sys.stderr,
            flush=True,
        )
    summary = sim.run()
    sim.write(args.out, png=not args.no_png)
    print(
        "sim: %s: %.0f s simulated (%s bus) in %.1f s (%.0fx real time), %d events, "
        "%d timeline records -> %s"
        % (
            scn.name,
            scn.duration_s,
            sim.fidelity,
            summary["wall_s"],
            summary["x_real_time"],
            summary["events"],
            len(sim.timeline.records),
            args.out,
        )
    )
    return 0


def cmd_check(args):
    for path in args.scenarios:
        scn = _load(path)
        print("%s: ok (%s, %.0f s, %d inputs)" % (path, scn.name, scn.duration_s, len(scn.inputs)))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.sim",
        description="Simulate batteries + Multi + GX around the unmodified BMS firmware, in "
        "virtual time, and write the timeline, the firmware's events, a summary and a plot.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run one scenario and write its outputs")
    r.add_argument("scenario", help="scenario JSON file")
    r.add_argument("--out", required=True, help="output directory (created if missing)")
    r.add_argument(
        "--fidelity",
        choices=("auto", "full", "fast"),
        default="auto",
        help="bus fidelity: full = sync every 20 ms, fast = every 200 ms, auto (default) = "
        "full up to 1 h of simulated time, fast beyond",
    )
    r.add_argument(
        "--scheduler",
        choices=("fast", "asyncio"),
        default="fast",
        help="fast (default): the simulator's scheduler of the asyncio subset the firmware "
        "uses; asyncio: a full virtual-clock asyncio event loop (slower)",
    )
    r.add_argument("--no-png", action="store_true", help="skip timeline.png")
    r.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="nothing on stderr while running (else: a live progress line on a terminal, "
        "one plain line in a log or a pipe)",
    )
    r.set_defaults(fn=cmd_run)
    c = sub.add_parser("check", help="validate scenario files only")
    c.add_argument("scenarios", nargs="+")
    c.set_defaults(fn=cmd_check)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except scenario.ScenarioError as e:
        print("sim: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("sim: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # on a terminal the progress line is still open
        print("\n" * sys.stderr.isatty() + "sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
