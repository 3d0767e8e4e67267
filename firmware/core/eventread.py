"""Reading the event log back (eventfile.py's records): for host tools and tests. The board
only writes the log, so it never imports this module and its code takes no RAM there.

The reader resynchronises byte by byte after a bad record, so records appended after a torn one
(the next boot appends behind it) are read too. Works with any file-like object.

    for code, reason, arg, tick, boot in decode_all(data): ...
    records("/events.log")      # every intact record of the file and its rotated .1
"""

import struct

from firmware.core.crc import crc16
from firmware.core.eventfile import FMT, MAGIC, RECORD_SIZE, encode


def _valid_at(data, i):
    if data[i] != MAGIC:
        return False
    return crc16(data, i, i + 14) == data[i + 14] | (data[i + 15] << 8)


def decode_all(data, bad=None):
    """List of (code, reason, arg, tick, boot) of every intact record in `data` (bytes).
    `bad`: a list that receives (offset, length) of each stretch of bytes that is no intact
    record (torn or damaged), for a reader that reports them."""
    out = []
    i = 0
    n = len(data)
    start = -1  # where the current stretch of bad bytes began
    while i + RECORD_SIZE <= n:
        if _valid_at(data, i):
            if start >= 0 and bad is not None:
                bad.append((start, i - start))
            start = -1
            _, code, reason, arg, tick, boot = struct.unpack_from(FMT, data, i)
            out.append((code, reason, arg, tick, boot))
            i += RECORD_SIZE
        else:
            if start < 0:
                start = i
            i += 1
    if start < 0:
        start = i  # fewer than RECORD_SIZE bytes left: a torn last record
    if bad is not None and start < n:
        bad.append((start, n - start))
    return out


def write_record(f, buf, code, reason, arg, tick, boot):
    encode(buf, code, reason, arg, tick, boot)
    f.write(buf)


def read_records(f):
    """Every intact record of a file-like object opened in binary mode."""
    return decode_all(f.read())


def records(path):
    """Every intact record of an EventFile's files (path, then its rotated path.1 first)."""
    out = []
    for p in (path + ".1", path):
        try:
            with open(p, "rb") as f:
                out += read_records(f)
        except OSError:
            pass
    return out
