"""`python -m tools.vebus sniff`: live frames from an RS485 adapter (pyserial), host timestamps.

--save FILE writes a timestamped capture (tools.vebus.inputs format) that `decode --raw FILE`
replays with the same frames and rejects. Ctrl-C (or --duration) ends it with a one-line summary on
stderr.
"""

import sys
import time

from tools.vebus.inputs import MAGIC, InputError, write_record

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


def sniff(args, session_cls, open_port=open_serial, clock=time.time, out=None, err=None):
    from tools.vebus.cli import emit

    out = out or sys.stdout
    err = err or sys.stderr
    baud = args.baud or (MK2_BAUD if args.mk2 else VEBUS_BAUD)
    try:
        port = open_port(args.port, baud)
    except ImportError:
        raise InputError("pyserial is not installed: run `make setup`") from None
    except Exception as e:  # serial.SerialException, OSError, ValueError (bad settings)
        raise InputError("cannot open %s: %s" % (args.port, e)) from None
    save = None
    if args.save:
        try:
            save = open(args.save, "wb")
            save.write(MAGIC)
        except OSError as e:
            port.close()
            raise InputError("cannot write %s: %s" % (args.save, e.strerror or e)) from None
    session = session_cls(args.mk2, strict=not args.any_addr)
    t0 = clock()
    rc = 0
    try:
        while args.duration is None or clock() - t0 < args.duration:
            data = port.read(max(1, port.in_waiting))
            if not data:  # a read timeout: the line is idle, a held partial frame is cut off
                if session.dec.pending():
                    if save:  # an empty record: the replay cuts the frame here too
                        write_record(save, clock(), b"")
                    emit(session.finish(), args.json, out)
                continue
            t = clock()
            if save:
                write_record(save, t, data)
            emit(session.feed(data, t), args.json, out)
            out.flush()
    except KeyboardInterrupt:
        pass
    except Exception as e:  # the adapter unplugged mid-capture, ...
        print("vebus sniff: %s: %s" % (args.port, e), file=err)
        rc = 1
    finally:
        port.close()
        if save:
            save.close()
    emit(session.finish(), args.json, out)
    print(summary(session, clock() - t0), file=err)
    return rc
