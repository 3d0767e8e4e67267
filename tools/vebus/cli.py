"""Arguments and the `decode` command of `python -m tools.vebus` (sniff lives in sniff.py)."""

import argparse
import sys

import vebus
from tools.vebus import render
from tools.vebus.inputs import InputError, binary_chunks, hex_lines, open_input
from vebus import mk2

DESCRIPTION = """\
Decode VE.Bus frames (raw RS485 bus bytes, 256000 baud) or MK2 frames (MK3-USB serial, 2400 baud)
and sniff a live bus. Built on lib/vebus: frames are verified (checksum, stuffing), rejects are
shown with their reason, messages are named from the catalogue and marked [inferred] where no
public capture confirms them."""

DECODE_HELP = """\
Input: hex text from FILE or stdin, one input per line (any spacing and case; `#` comments and
`|` notes as in tests/vectors.txt: a line's note is shown with what it decodes to), or with --raw
a binary file: plain bytes or a timestamped capture written by `sniff --save` (replayed with the
same frames and rejects as the live sniff showed). Output: one line per frame (time if known,
source, N, message, fields, checksum status) or with --json one JSON object per line with ok,
kind (sync, data, short, mk2, garbage), frame_no, type, payload (hex, de-stuffed), error (null,
checksum, overlong, truncated, garbage, short, stuffing), note and more.
Example: python -m tools.vebus decode tests/vectors.txt
Exit 0 when the input was read (rejected frames included), 2 on unreadable or malformed input."""


class Session:
    """One decoder (VE.Bus or MK2) and the records it produced since the last take()."""

    def __init__(self, use_mk2=False, strict=True):
        self.t = None
        self.records = []
        self.use_mk2 = use_mk2
        if use_mk2:
            self.dec = mk2.Mk2Decoder(self._mk2_frame, self._mk2_reject)
            self.reasons = mk2.REASONS
        else:
            self.dec = vebus.Decoder(self._frame, self._reject, strict=strict)
            self.reasons = vebus.REASONS

    def _frame(self, f):
        self.records.append(render.frame_record(f, self.t))

    def _reject(self, reason, raw):
        self.records.append(render.reject_record(vebus.REASONS[reason], raw, self.t))

    def _mk2_frame(self, f):
        self.records.append(render.mk2_record(f, self.t))

    def _mk2_reject(self, reason, raw):
        self.records.append(render.mk2_reject_record(mk2.REASONS[reason], raw, self.t))

    def feed(self, data, t=None):
        """Decode a chunk received at host time t; return the records it completed."""
        self.t = t
        self.dec.feed(data)
        return self.take()

    def finish(self):
        """End of input: a held partial frame becomes a reject."""
        self.dec.flush()
        return self.take()

    def take(self):
        out, self.records = self.records, []
        return out

    def frames(self):
        return self.dec.counts[0]

    def rejects(self):
        """{reason name: count} of the reasons that occurred."""
        return {self.reasons[i]: c for i, c in enumerate(self.dec.counts) if i and c}


def build_parser():
    ap = argparse.ArgumentParser(
        prog="python -m tools.vebus",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    dec = sub.add_parser(
        "decode",
        help="decode hex text or a binary capture",
        description=DECODE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dec.add_argument("file", nargs="?", default="-", help="hex text file (default: stdin)")
    dec.add_argument("--raw", metavar="FILE", help="binary input: raw bytes or a sniff capture")
    _common(dec)
    sn = sub.add_parser(
        "sniff",
        help="live capture from an RS485 adapter (pyserial)",
        description="Print the frames on a live bus with host timestamps; Ctrl-C ends it with a "
        "one-line summary (frames, rejects by reason, frames/s).",
    )
    sn.add_argument("--port", required=True, help="serial device, e.g. /dev/ttyUSB0")
    sn.add_argument("--baud", type=int, help="default 256000 (VE.Bus), 2400 with --mk2")
    sn.add_argument("--save", metavar="FILE", help="also write a timestamped binary capture")
    sn.add_argument("--duration", type=float, help="stop after this many seconds")
    _common(sn)
    return ap


def _common(p):
    p.add_argument("--mk2", action="store_true", help="MK2 serial frames instead of raw VE.Bus")
    p.add_argument("--json", action="store_true", help="one JSON object per frame")
    p.add_argument(
        "--any-addr",
        action="store_true",
        help="accept frames from unknown addresses (default: Multi 83 83, controller 98 F7)",
    )


def emit(records, as_json, out=None, note=""):
    out = out or sys.stdout
    fmt = render.json_line if as_json else render.text_line
    for rec in records:
        if note:
            rec["note"] = note
        out.write(fmt(rec) + "\n")


def decode(args, out=None):
    session = Session(args.mk2, strict=not args.any_addr)
    path = args.raw or args.file
    f = open_input(path, binary=bool(args.raw))
    try:
        if args.raw:
            for t, data in binary_chunks(f, path):
                # b"": the live sniff's read timed out here and cut a partial frame
                emit(session.feed(data, t) if data else session.finish(), args.json, out)
        else:
            for data, note in hex_lines(f, path):
                emit(session.feed(data) + session.finish(), args.json, out, note)
        emit(session.finish(), args.json, out)
    except OSError as e:  # a read error mid-file (stdout's BrokenPipeError is main's)
        if isinstance(e, BrokenPipeError):
            raise
        raise InputError("cannot read %s: %s" % (path, e.strerror or e)) from None
    finally:
        if path != "-":
            f.close()
    return 0


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    try:
        if args.command == "decode":
            return decode(args)
        from tools.vebus.sniff import sniff

        return sniff(args, Session)
    except InputError as e:
        print("vebus %s: %s" % (args.command, e), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
