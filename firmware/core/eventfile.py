"""Event log on flash: append-only fixed-size records, each with its own CRC.

Record (RECORD_SIZE = 16 bytes, little-endian):
    0  u8   MAGIC 0xEB
    1  u8   event code (events.EV_*)
    2  u16  reason bits (codes.R_*)
    4  i32  arg
    8  u32  tick (ms, as the board's ticks_ms; meaningful within one boot)
    12 u16  boot number (latch.py counts boots), so ticks of different boots are not mixed
    14 u16  CRC-16/CCITT of bytes 0..13

A power cut mid-write leaves a torn last record: its CRC fails and the reader drops it. The
board only writes the log; reading it back is eventread.py's (host tools and tests), which the
board never imports.

    buf = bytearray(RECORD_SIZE)
    encode(buf, code, reason, arg, tick, boot); f.write(buf)
    log = EventFile("/events.log", max_bytes)    # path-based, rotates to <path>.1
    log.save(event_log)                          # the RAM log's new events, batched
    log.collect(event_log, 4)                    # into the batch, 4 at most: no write
    log.held()                                   # bytes collected and not written yet
    log.flush()                                  # one write of them
"""

import os
import struct

from firmware.core.crc import crc16

MAGIC = 0xEB
RECORD_SIZE = 16
FMT = "<BBHiIH"


def encode(buf, code, reason, arg, tick, boot, at=0):
    """Fill buf[at:at + 16] with one record."""
    struct.pack_into(
        FMT, buf, at, MAGIC, code & 0xFF, reason & 0xFFFF, arg, tick & 0xFFFFFFFF, boot & 0xFFFF
    )
    c = crc16(buf, at, at + 14)
    buf[at + 14] = c & 0xFF
    buf[at + 15] = c >> 8


class EventFile:
    """The event log file on flash, rotated to <path>.1 once it reaches max_bytes.

    Records are collected in RAM (`add`, up to `batch` of them) and written by `flush` with one
    open/write/close: on littlefs each write costs a metadata commit and a copy of what the
    file's last block holds (littlefs never programs a block twice), whatever the write's
    length, so a batch costs what one record does. On the emulated Pico (CPU time only; a real
    flash adds the erase and programming times): 1.3 ms with the last block empty, 5 ms with
    1 KB in it, 8 ms with 2 KB, 12.5 ms with 3.9 KB, and 10-21 ms when the commit compacts the
    directory's metadata. A file kept open and flushed costs the same. The file's size is kept
    in RAM (one stat, at the first write): a stat is a path lookup."""

    def __init__(self, path, max_bytes=16384, boot=0, batch=8):
        self.path = path
        self.old = path + ".1"
        self.max_bytes = max_bytes
        self.boot = boot
        self.batch = batch
        self._buf = bytearray(RECORD_SIZE * batch)
        self._n = 0  # bytes collected, not written yet
        self._size = -1  # bytes in the file; -1: not known (read it before the next write)

    def _file_size(self):
        try:
            return os.stat(self.path)[6]
        except OSError:
            return 0

    def add(self, tick, code, reason, arg):
        """Collect one record (the signature of EventLog.drain's callback); a full batch is
        written at once."""
        if self._n == len(self._buf):
            self.flush()
        encode(self._buf, code, reason, arg, tick, self.boot, self._n)
        self._n += RECORD_SIZE

    def append(self, tick, code, reason, arg):
        """Write one record now."""
        self.add(tick, code, reason, arg)
        self.flush()

    def save(self, log):
        """Every event of `log` (events.EventLog) not written yet, one write a batch; how many."""
        n = log.drain(self.add)
        if self._n:
            self.flush()
        return n

    def collect(self, log, most=-1):
        """`log`'s events not written yet, as many as the batch has room for and at most
        `most` (-1: no limit), into the batch (no write); how many."""
        room = (len(self._buf) - self._n) // RECORD_SIZE
        return log.drain(self.add, room if most < 0 or most > room else most)

    def held(self):
        return self._n

    def flush(self):
        """Write the collected records (into a fresh file after the rotation if they do not
        fit in this one)."""
        n = self._n
        if not n:
            return
        self._n = 0
        size = self._size if self._size >= 0 else self._file_size()
        self._size = -1  # unknown until this write is done (a power cut may tear it)
        if size + n > self.max_bytes:
            try:
                os.remove(self.old)
            except OSError:
                pass
            os.rename(self.path, self.old)
            size = 0
        with open(self.path, "ab") as f:
            f.write(memoryview(self._buf)[:n])
        self._size = size + n
