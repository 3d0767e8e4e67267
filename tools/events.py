"""Print a board's event log (/events.log) in the manual's words, with boot numbers and times.

    python -m tools.events events.log            one line per event: boot, uptime, what happened
    python -m tools.events --json events.log     one JSON object per event
    python -m tools.events --fetch PORT          copy /events.log (and .1) off a board, print them
    make events PORT=/dev/ttyACM0                the same as --fetch

The file is the firmware's own (firmware/core/eventfile.py): 16-byte records, each with a CRC.
The board rotates a full log to events.log.1; FILE.1 beside FILE is read first (older events).
Times are the board's uptime within each boot (it has no clock); the boot number counts every
start, so events of different boots are never mixed ("-": a crash before the app ran, which
main.py logs with neither). A damaged or torn record is skipped: the good ones are printed and
one line on stderr says how many were bad (exit 1).
"""

import argparse
import json
import sys
from pathlib import Path

from tools import sim  # noqa: F401  (the board's import path: firmware.app's texts load on CPython)

TICKS_PERIOD = 1 << 30  # the board's ticks_ms wrap
BOARD_EVENT_BASE = 32  # firmware/app.py's own event codes start here (core's are below)
LOG = "/events.log"


class EventsError(Exception):
    """One clear line for the user; main() prints it and exits non-zero."""


def event_text(code, reason, arg):
    """An event in the manual's words: core's (firmware/core/texts.py) or the board's
    (firmware/app_texts.py)."""
    from firmware.app_texts import EVENT_TEXTS
    from firmware.core.events import text

    if code < BOARD_EVENT_BASE:
        return text(code, reason, arg)
    msg = EVENT_TEXTS.get(code) or "unknown event %d" % code
    n = msg.count("%d")
    return msg % (arg >> 8, arg & 0xFF) if n == 2 else msg % arg if n else msg


def read(paths):
    """(events, bad records, bad bytes) of the files in order. An event is a dict: boot, uptime
    (ms, wraps of ticks_ms undone within a boot), tick, code, reason, arg, text. Boot 0: written
    by main.py's crash path before the app ran, with neither boot number nor time (uptime None)."""
    from firmware.core.eventfile import RECORD_SIZE
    from firmware.core.eventread import decode_all
    from firmware.core.texts import reason_names

    events, bad_records, bad_bytes = [], 0, 0
    last = {}  # boot -> (last tick, wraps so far)
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise EventsError("cannot read %s: %s" % (path, e.strerror)) from None
        bad = []
        for code, reason, arg, tick, boot in decode_all(data, bad):
            prev, wraps = last.get(boot, (tick, 0))
            if tick < prev:
                wraps += 1
            last[boot] = (tick, wraps)
            events.append(
                {
                    "boot": boot,
                    "uptime_ms": tick + wraps * TICKS_PERIOD if boot else None,
                    "tick": tick,
                    "code": code,
                    "reason": reason,
                    "reasons": reason_names(reason) if reason else "",
                    "arg": arg,
                    "text": event_text(code, reason, arg),
                }
            )
        bad_records += sum(-(-n // RECORD_SIZE) for _, n in bad)
        bad_bytes += sum(n for _, n in bad)
    return events, bad_records, bad_bytes


def uptime(ms):
    """12345678 -> "3:25:45.678"; a day or more: "1d 03:25:45.678"."""
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    if d:
        return "%dd %02d:%02d:%02d.%03d" % (d, h, m, s, ms)
    return "%d:%02d:%02d.%03d" % (h, m, s, ms)


def render(events, as_json=False, out=None):
    out = out or sys.stdout
    if as_json:
        for e in events:
            print(json.dumps(e), file=out)
        return
    print("%5s  %15s  %s" % ("boot", "uptime", "event"), file=out)
    for e in events:
        boot, ms = e["boot"] or "-", e["uptime_ms"]
        print("%5s  %15s  %s" % (boot, "-" if ms is None else uptime(ms), e["text"]), file=out)


def log_files(path):
    """FILE.1 (the rotated, older half) first if it is there, then FILE."""
    old = Path(str(path) + ".1")
    return [old, Path(path)] if old.exists() else [Path(path)]


def fetch(port, dest, reset=True, log=print):
    """Copy /events.log and /events.log.1 off the board into folder dest; returns FILE's path.
    The firmware is parked for the copy (outputs floating: mpremote needs the REPL) and reset
    after, as tools/deploy.py does; reset=False for a MicroPython that cannot reset."""
    from tools.deploy import DeployError, find_tool, park
    from tools.deploy_board import Board

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    local = dest / "events.log"
    for p in (local, Path(str(local) + ".1")):
        p.unlink(missing_ok=True)
    try:
        if reset:
            log("events: parking the firmware (outputs floating) to read its log; reset after")
            park(port, log=lambda _: None)
        board = Board(port, find_tool("mpremote"), resume=not reset)
        have = board.exec(
            "import os\nfor n in ('events.log', 'events.log.1'):\n"
            " try:\n  os.stat(n); print('HAVE', n)\n except OSError:\n  pass"
        )
        names = [w.split()[1] for w in have.splitlines() if w.startswith("HAVE ")]
        for name in names:
            board.run("cp", ":" + name, str(dest / name), timeout=120)
        if reset:
            board.reset()
    except DeployError as e:
        raise EventsError(str(e)) from None
    if "events.log" not in names:
        raise EventsError("the board on %s has no %s (no event recorded yet?)" % (port, LOG))
    log("events: copied %s from %s to %s" % (", ".join("/" + n for n in names), port, dest))
    return local


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.events",
        description="Print a board's event log (/events.log) in the manual's words: boot\n"
        "number, uptime within that boot (the board has no clock) and what happened, with\n"
        "its cause. FILE.1 beside FILE (the rotated, older half) is read first. Damaged or\n"
        "torn records are skipped and counted on stderr (exit 1); the good ones are still\n"
        "printed. Exit 2: no file, no board.",
        epilog="examples:\n"
        "  python -m tools.events out/events/events.log\n"
        "  python -m tools.events --json events.log > events.jsonl\n"
        "  python -m tools.events --fetch /dev/ttyACM0   (or: make events PORT=/dev/ttyACM0)\n"
        "--fetch stops the firmware for the copy: the outputs float (loads and chargers off)\n"
        "for those few seconds, then the board is reset and protects again.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("file", nargs="?", metavar="FILE", help="an events.log copied off a board")
    ap.add_argument("--json", action="store_true", help="one JSON object per event")
    ap.add_argument(
        "--fetch",
        metavar="PORT",
        help="first copy /events.log (and .1) off the board on PORT with mpremote into "
        "out/events/ (or --out); the firmware is parked for the copy and reset after",
    )
    ap.add_argument("--out", default="out/events", help="folder for --fetch (default out/events)")
    ap.add_argument(
        "--no-reset",
        action="store_true",
        help="with --fetch: for a MicroPython that cannot reset (the unix port behind a pty)",
    )
    args = ap.parse_args(argv)
    try:
        if args.fetch:
            if args.file:
                raise EventsError("give FILE or --fetch PORT, not both")
            path = fetch(args.fetch, args.out, reset=not args.no_reset, log=_err)
        elif args.file:
            path = args.file
        else:
            raise EventsError("give an events.log FILE, or --fetch PORT to copy it off a board")
        files = log_files(path)
        events, bad, nbytes = read(files)
    except EventsError as e:
        _err("events: %s" % e)
        return 2
    render(events, args.json)
    names = " + ".join(str(p) for p in files)
    if bad:
        _err(
            "events: %s is damaged: %d bad record(s) (%d bytes) skipped, %d good shown"
            % (names, bad, nbytes, len(events))
        )
        return 1
    if not events:
        _err("events: %s holds no events" % names)
    return 0


def _err(line):
    print(line, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
