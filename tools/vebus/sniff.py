"""`python -m tools.vebus sniff`: live frames from an RS485 adapter (pyserial), host timestamps.

--save FILE writes a timestamped capture (tools.vebus.inputs format) that `decode --raw FILE`
replays with the same frames and rejects. --panel-port P2 sniffs the Remote panel port's segment
too (a second adapter, both at the BMS): every frame says which segment it came from. Ctrl-C (or
--duration) ends it with a one-line summary per segment on stderr.
"""

import sys
import time

from tools.vebus.inputs import MAGIC, MAGIC2, SIDES, InputError, write_record

VEBUS_BAUD = 256000
MK2_BAUD = 2400


def open_serial(port, baud):
    import serial

    # serial_for_url: a device path, or a URL such as socket://host:port (a network RS485 bridge)
    return serial.serial_for_url(
        port, baudrate=baud, bytesize=8, parity="N", stopbits=1, timeout=0.05
    )


def summary(session, elapsed):
    rejects = session.rejects()
    rej = ", ".join("%s %d" % kv for kv in sorted(rejects.items())) or "none"
    frames = session.frames()
    rate = frames / elapsed if elapsed > 0 else 0.0
    return "sniff: %d frames, rejects: %s; %.1f frames/s over %.1f s" % (
        frames,
        rej,
        rate,
        elapsed,
    )


class _Side:
    """One segment being sniffed: its port, decoder and name (None: the only one)."""

    def __init__(self, port, session, side, name):
        self.port = port
        self.session = session
        self.side = side  # 0 multi, 1 panel (the capture's side byte); None with one port
        self.name = name


def sniff(args, session_cls, open_port=open_serial, clock=time.time, out=None, err=None):
    """Sniff the port (and with --panel-port the panel segment too) until Ctrl-C / --duration."""
    from tools.vebus.cli import emit

    out = out or sys.stdout
    err = err or sys.stderr
    baud = args.baud or (MK2_BAUD if args.mk2 else VEBUS_BAUD)
    names = [args.port] + ([args.panel_port] if getattr(args, "panel_port", None) else [])
    sides = []
    try:
        for k, name in enumerate(names):
            port = open_port(name, baud)
            session = session_cls(args.mk2, strict=not args.any_addr)
            sides.append(_Side(port, session, k if len(names) > 1 else None, name))
    except ImportError:
        raise InputError("pyserial is not installed: run `make setup`") from None
    except Exception as e:  # serial.SerialException, OSError, ValueError (bad settings)
        for s in sides:
            s.port.close()
        raise InputError("cannot open %s: %s" % (names[len(sides)], e)) from None
    save = None
    if args.save:
        try:
            save = open(args.save, "wb")
            save.write(MAGIC if len(sides) == 1 else MAGIC2)
        except OSError as e:
            for s in sides:
                s.port.close()
            raise InputError("cannot write %s: %s" % (args.save, e.strerror or e)) from None
    t0 = clock()
    rc = 0
    current = sides[0]
    try:
        while args.duration is None or clock() - t0 < args.duration:
            for current in sides:
                _read_once(current, save, clock, args.json, out, emit)
    except KeyboardInterrupt:
        pass
    except Exception as e:  # the adapter unplugged mid-capture, ...
        print("vebus sniff: %s: %s" % (current.name, e), file=err)
        rc = 1
    finally:
        for s in sides:
            s.port.close()
        if save:
            save.close()
    for s in sides:
        label = SIDES[s.side] if s.side is not None else None
        emit(s.session.finish(), args.json, out, side=label)
        prefix = "" if label is None else label + " "
        print(prefix + summary(s.session, clock() - t0), file=err)
    return rc


def _read_once(s, save, clock, as_json, out, emit):
    """One read of one segment: its bytes decoded (and saved), or a timeout that ends a frame."""
    label = SIDES[s.side] if s.side is not None else None
    session = s.session
    data = s.port.read(max(1, s.port.in_waiting))
    if not data:  # a read timeout: the line is idle, a held partial frame is cut off
        if session.dec.pending():
            if save:  # an empty record: the replay cuts the frame here too
                write_record(save, clock(), b"", s.side)
            emit(session.finish(), as_json, out, side=label)
        return
    t = clock()
    if save:
        write_record(save, t, data, s.side)
    emit(session.feed(data, t), as_json, out, side=label)
    out.flush()
