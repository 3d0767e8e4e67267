"""Latched-fault persistence: a tiny record that survives a reboot, and the boot counter.

File content (14 bytes, little-endian), two parts each with its own CRC-16:
    0..7   b"LT", u8 version 1, u8 flags (bit 0 latched), u16 reason bits (codes.R_*), u16 CRC
    8..13  b"BC", u16 boot number, u16 CRC
Written to <path>.tmp then renamed over <path>, so a power cut leaves the old or the new file.

Reading never raises: no file = not latched (a fresh board); an unreadable or corrupt file =
latched with R_LATCH_LOST (fail safe: the loop must read OK for startup_ok_ms first, which
start-up demands anyway).

    st = LatchStore("/latch.bin")
    latched, reason, boot = st.load()
    st.save(latched, reason)        # when Outputs.changed & CH_LATCH
    boot = st.next_boot()           # once per boot: returns the incremented counter, saved
"""

import os
import struct

from micropython import const

from firmware.core.crc import crc16

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_R_LATCH_LOST = const(0x2000)

_SIZE = 14


def encode(latched, reason, boot):
    b = bytearray(_SIZE)
    struct.pack_into("<2sBBH", b, 0, b"LT", 1, 1 if latched else 0, reason & 0xFFFF)
    struct.pack_into("<H", b, 6, crc16(b, 0, 6))
    struct.pack_into("<2sH", b, 8, b"BC", boot & 0xFFFF)
    struct.pack_into("<H", b, 12, crc16(b, 8, 12))
    return b


def decode(data):
    """(latched, reason, boot) from file content; corrupt -> (True, _R_LATCH_LOST, boot or 0)."""
    boot = 0
    if len(data) >= _SIZE and data[8:10] == b"BC":
        if struct.unpack_from("<H", data, 12)[0] == crc16(data, 8, 12):
            boot = struct.unpack_from("<H", data, 10)[0]
    if len(data) < 8 or data[0:2] != b"LT" or data[2] != 1:
        return True, _R_LATCH_LOST, boot
    if struct.unpack_from("<H", data, 6)[0] != crc16(data, 0, 6):
        return True, _R_LATCH_LOST, boot
    return bool(data[3] & 1), struct.unpack_from("<H", data, 4)[0], boot


class LatchStore:
    def __init__(self, path="/latch.bin"):
        self.path = path
        self.latched = False
        self.reason = 0
        self.boot = 0

    def load(self):
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            self.latched, self.reason, self.boot = False, 0, 0
            return self.latched, self.reason, self.boot
        self.latched, self.reason, self.boot = decode(data)
        return self.latched, self.reason, self.boot

    def save(self, latched, reason):
        self.latched = bool(latched)
        self.reason = reason if latched else 0
        self._write()

    def next_boot(self):
        self.load()
        self.boot = (self.boot + 1) & 0xFFFF
        self._write()
        return self.boot

    def _write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(encode(self.latched, self.reason, self.boot))
        os.rename(tmp, self.path)
