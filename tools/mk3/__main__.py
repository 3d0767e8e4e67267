"""Bench client for a Victron MK3-USB interface: see what the Multi thinks of the BMS.

    python -m tools.mk3 --port /dev/ttyUSB0              interface version, address, state, DC
    python -m tools.mk3 --port /dev/ttyUSB0 monitor      print every change (Ctrl-C stops)
    python -m tools.mk3 --port /dev/ttyUSB0 ram 4 5      raw RAM variables (e.g. assistant vars)
    python -m tools.mk3 --demo monitor                   no hardware: a simulated Multi

The MK3 talks the MK2 protocol at 2400 baud, 8N1. Read-only: this tool never switches the Multi.
--port takes a device or any pyserial URL (socket://host:port, rfc2217://host:port, loop://).
"""

import argparse
import sys
import time

USAGE_NOTES = """
what to look for (docs/bench-testing.md):
  switch        on / charger-only / off: charger-only while the BTV loop says low cell
  device_state  off, charge, invert full, ...
  leds_on       "low battery" from the Multi's own LED frame
  dc_*          battery voltage; charger current reduced (not zero) on high cell
  BMS flags     the VE.Bus BMS assistant's LowCell/HighCell/Error/BmsExpected live in assistant
                RAM variables whose ids are not public: read candidates with `ram ID ...`
"""

FIELDS = (
    ("interface_version", "interface version"),
    ("address", "selected address"),
    ("device_state", "device state"),
    ("switch", "switch (resolved)"),
    ("switch_register", "switch register"),
    ("leds_on", "LEDs on"),
    ("leds_blink", "LEDs blinking"),
    ("dc_voltage", "DC voltage (V)"),
    ("dc_current_inverter", "DC current to inverter (A)"),
    ("dc_current_charger", "DC current from charger (A)"),
    ("current_limit", "AC input current limit (A)"),
    ("remote_panel_detected", "remote panel detected"),
    ("dmc_dedicated", "Digital Multi Control dedicated"),
)


def _fmt(v):
    if isinstance(v, list):
        return ", ".join(v) if v else "-"
    return str(v)


def print_snapshot(snap, out):
    width = max(len(label) for _, label in FIELDS)
    for key, label in FIELDS:
        if key in snap:
            out.write("%-*s  %s\n" % (width, label, _fmt(snap[key])))


def monitor(mk3, out, interval=1.0, cycles=None, sleep=time.sleep, clock=time.monotonic):
    """Poll and print what changed; cycles=None runs until interrupted. Returns the cycle count."""
    t0 = clock()
    last = {}
    silent = False
    n = 0
    while cycles is None or n < cycles:
        n += 1
        stamp = "[%8.1f s]" % (clock() - t0)
        try:
            snap = mk3.snapshot()
        except _errors() as e:
            if not silent:
                out.write("%s no answer: %s\n" % (stamp, e))
                silent = True
            sleep(interval)
            continue
        if silent:
            out.write("%s the interface answers again\n" % stamp)
            silent = False
        for key, label in FIELDS:
            if key in snap and snap[key] != last.get(key):
                if key in last:
                    out.write(
                        "%s %s: %s -> %s\n" % (stamp, label, _fmt(last[key]), _fmt(snap[key]))
                    )
                else:
                    out.write("%s %s: %s\n" % (stamp, label, _fmt(snap[key])))
        last.update(snap)
        out.flush()
        sleep(interval)
    return n


def _errors():
    from tools.mk3.client import Mk3Error

    return (Mk3Error,)


def open_port(dev):
    import serial

    # a device path or a URL (socket://, rfc2217://, loop://), as tools.vebus sniff takes
    return serial.serial_for_url(
        dev, baudrate=2400, bytesize=8, parity="N", stopbits=1, timeout=0.05
    )


def open_demo(_dev):
    from tools.mk3.fake import DemoMultiPort

    return DemoMultiPort()


def main(argv=None, opener=open_port, out=None, clock=time.monotonic, sleep=time.sleep):
    out = out or sys.stdout
    ap = argparse.ArgumentParser(
        prog="python -m tools.mk3",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=USAGE_NOTES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--port", help="the MK3-USB: a device (/dev/ttyUSB0) or a pyserial URL (socket://h:p)"
    )
    where.add_argument(
        "--demo",
        action="store_true",
        help="a simulated Multi instead of a port (its BMS opens the BTV loop every 10 s)",
    )
    ap.add_argument("--address", type=int, default=0, help="VE.Bus address to select (0)")
    ap.add_argument("--interval", type=float, default=1.0, help="monitor: seconds between polls")
    ap.add_argument("--cycles", type=int, default=None, help="monitor: stop after this many polls")
    ap.add_argument("command", nargs="?", default="info", choices=("info", "monitor", "ram"))
    ap.add_argument("ids", nargs="*", type=int, help="ram: RAM variable ids (0..255)")
    args = ap.parse_args(argv)
    if args.command == "ram" and not args.ids:
        ap.error("ram needs at least one RAM variable id")
    if args.command != "ram" and args.ids:
        ap.error("only `ram` takes ids")
    if not 0 <= args.address <= 255 or any(not 0 <= i <= 255 for i in args.ids):
        ap.error("addresses and RAM ids are 0..255")

    from tools.mk3.client import Mk3, Mk3Error

    if args.demo:
        opener, args.port = open_demo, "the simulated Multi"
    try:
        port = opener(args.port)
    except Exception as e:  # pyserial: SerialException / OSError / ValueError
        print("mk3: cannot open %s: %s" % (args.port, _reason(e)), file=sys.stderr)
        return 2
    mk3 = Mk3(port, clock=clock)
    try:
        info = mk3.version()
        info.update(mk3.select(args.address))
        if args.command == "ram":
            for ram_id, val in mk3.read_ram(args.ids).items():
                out.write("RAM %3d: %s\n" % (ram_id, "not supported" if val is None else val))
            return 0
        mk3.load_scales()
        if args.command == "info":
            info.update(mk3.snapshot())
            print_snapshot(info, out)
            return 0
        print_snapshot(info, out)
        monitor(mk3, out, args.interval, args.cycles, sleep=sleep, clock=clock)
        return 0
    except Mk3Error as e:
        print("mk3: %s (is the MK3 plugged into a powered Multi?)" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        close = getattr(port, "close", None)
        if close:
            close()


def _reason(e):
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


if __name__ == "__main__":
    sys.exit(main())
