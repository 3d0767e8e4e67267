"""firmware/core events.py (RAM ring, texts), eventfile.py (flash records), latch.py."""

import os

from firmware.core import eventfile as ef
from firmware.core import eventread as er
from firmware.core import events as ev
from firmware.core.codes import (
    EV_CHARGE_OFF,
    EV_CHARGE_ON,
    EV_ERROR15,
    EV_FAULT_LATCHED,
    EV_LOAD_OFF,
    EV_LOAD_ON,
    EV_LOG_LOST,
    EV_MULTI,
    EV_REMOTE,
    MODE_CHARGER_ONLY,
    R_HIGH_CELL,
    R_LATCH_LOST,
    R_LOW_CELL,
    R_NO_AC,
    R_OPEN_LOOP,
)
from firmware.core.crc import crc16
from firmware.core.latch import LatchStore, decode, encode

_TMP = "/tmp" if "tmp" in os.listdir("/") else "."


def _path(name):
    pid = os.getpid() if hasattr(os, "getpid") else 0
    return "%s/core_%s_%d" % (_TMP, name, pid)


def _rm(*paths):
    for p in paths:
        for q in (p, p + ".1", p + ".tmp"):
            try:
                os.remove(q)
            except OSError:
                pass


def test_cause_texts_in_the_manuals_words():
    assert ev.text(EV_LOAD_OFF, R_LOW_CELL, 30) == (
        "load disconnect: low cell, 30 s after pre-alarm"
    )
    assert ev.text(EV_CHARGE_OFF, R_HIGH_CELL, 0) == "charge disconnect: high cell"
    assert ev.text(EV_MULTI, R_LOW_CELL | R_NO_AC, 4) == "Multi: off (low cell, no AC)"
    assert ev.text(EV_MULTI, R_LOW_CELL, MODE_CHARGER_ONLY) == "Multi: charger-only (low cell)"
    assert ev.text(EV_ERROR15, 0, 412).startswith("VE.Bus error 15: Multi firmware 412")
    assert ev.text(EV_FAULT_LATCHED, R_OPEN_LOOP, 0) == "BTV loop fault latched: open loop"
    for code in range(1, 19):  # every code has its own text
        assert not ev.text(code, 0, 1).startswith("unknown event")
    assert ev.text(99, 0, 1) == "unknown event 99 (battery OK, 1)"


def test_ring_keeps_the_newest_fixed_number():
    log = ev.EventLog(4)
    for k in range(10):
        log.record(k * 10, EV_LOAD_ON, 0, k)
    assert len(log) == 4 and log.seq == 10
    assert [e[3] for e in log.entries()] == [6, 7, 8, 9]
    assert log.last() == (90, EV_LOAD_ON, 0, 9)


def test_ring_keeps_every_value_the_flash_record_holds():
    """The ring stores what eventfile.py's record holds (code u8, reason u16, arg i32): the
    widest values come out as they went in."""
    log = ev.EventLog(2)
    wide = [(0x3FFFFFFF, 255, 0xFFFF, -(2**31)), (0, 1, 0x8000, 2**31 - 1)]
    for e in wide:
        log.record(*e)
    assert log.entries() == wide


def test_drain_hands_out_each_event_once_and_reports_losses():
    log = ev.EventLog(4)
    got = []

    def take(t, code, reason, arg):
        got.append((t, code, reason, arg))

    log.record(1, EV_CHARGE_OFF, R_HIGH_CELL, 0)
    assert log.drain(take) == 1 and log.drain(take) == 0
    for k in range(6):  # 6 new events into a ring of 4: 2 lost before the next drain
        log.record(10 + k, EV_LOAD_ON, 0, k)
    assert log.drain(take) == 5
    assert got[1][1] == EV_LOG_LOST and got[1][3] == 2
    assert [g[3] for g in got[2:]] == [2, 3, 4, 5]


def test_drain_hands_out_at_most_the_asked_number_and_keeps_the_rest():
    log = ev.EventLog(4)
    got = []

    def take(t, code, reason, arg):
        got.append(arg)

    for k in range(6):  # a ring of 4: 2 lost
        log.record(k, EV_LOAD_ON, 0, k)
    assert log.drain(take, 0) == 0 and not got  # no room: not even the loss
    assert log.drain(take, 3) == 3 and log.pending() == 2  # the loss counts as one
    assert got == [2, 2, 3]
    assert log.drain(take, 3) == 2 and log.pending() == 0 and got[3:] == [4, 5]
    log.record(9, EV_LOAD_ON, 0, 9)
    assert log.drain(take, 1) == 1 and got[5:] == [9]


def test_crc16_known_value():
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert crc16(b"") == 0xFFFF and crc16(b"A") == 0xB915  # its init; the catalogue's "A"
    # a slice, and a CRC carried on from the previous part, as a whole
    assert crc16(b"xx123456789yy", 2, 11) == 0x29B1
    assert crc16(b"56789", crc=crc16(b"1234")) == 0x29B1


def _records(n):
    buf = bytearray(ef.RECORD_SIZE)
    out = bytearray()
    for k in range(n):
        ef.encode(buf, EV_LOAD_OFF, R_LOW_CELL, 30 + k, 0x3FFFFFF0 + k, 7)
        out += buf
    return bytes(out)


def test_records_round_trip():
    data = _records(3)
    assert len(data) == 3 * ef.RECORD_SIZE
    recs = er.decode_all(data)
    assert recs == [(EV_LOAD_OFF, R_LOW_CELL, 30 + k, 0x3FFFFFF0 + k, 7) for k in range(3)]


def test_a_cut_at_any_byte_loses_at_most_the_torn_last_record():
    data = _records(4)
    for cut in range(len(data) + 1):
        bad = []
        recs = er.decode_all(data[:cut], bad)
        assert len(recs) == cut // ef.RECORD_SIZE, cut
        torn = cut % ef.RECORD_SIZE
        assert bad == ([(cut - torn, torn)] if torn else []), cut  # the torn bytes, reported
        assert [r[2] for r in recs] == [30 + k for k in range(len(recs))]


def test_records_after_a_torn_one_are_still_read():
    data = _records(3)
    for cut in range(1, ef.RECORD_SIZE):  # the next boot appends behind a torn record
        torn = data[: ef.RECORD_SIZE + cut] + data[2 * ef.RECORD_SIZE :]
        bad = []
        recs = er.decode_all(torn, bad)
        assert [r[2] for r in recs] == [30, 32], cut
        assert bad == [(ef.RECORD_SIZE, cut)], cut


def test_a_flipped_byte_drops_only_its_record():
    data = bytearray(_records(3))
    data[ef.RECORD_SIZE + 5] ^= 0x40
    bad = []
    assert [r[2] for r in er.decode_all(bytes(data), bad)] == [30, 32]
    assert bad == [(ef.RECORD_SIZE, ef.RECORD_SIZE)]


def test_event_file_appends_rotates_and_reads_back():
    p = _path("events")
    _rm(p)
    f = ef.EventFile(p, max_bytes=ef.RECORD_SIZE * 4, boot=3)
    log = ev.EventLog(16)
    for k in range(6):
        log.record(k, EV_CHARGE_ON, 0, k)
    log.drain(f.append)
    recs = er.records(f.path)
    assert [r[2] for r in recs] == [0, 1, 2, 3, 4, 5] and recs[0][4] == 3
    assert os.stat(p)[6] == 2 * ef.RECORD_SIZE  # rotated once: 4 in <path>.1, 2 here
    for k in range(6, 12):
        log.record(k, EV_CHARGE_ON, 0, k)
    log.drain(f.append)
    assert [r[2] for r in er.records(f.path)] == [4, 5, 6, 7, 8, 9, 10, 11]  # oldest file dropped
    _rm(p)


def test_event_file_saves_new_events_in_one_write_and_rotates_before_the_limit():
    # On littlefs each write costs a metadata commit and a copy of the file's last block, 3-5 ms
    # on the emulated Pico whatever its length: new events go out in one write, not one each.
    p = _path("batch")
    _rm(p)
    opens = []

    def counting_open(path, mode="r"):
        if "a" in mode:
            opens.append(path)
        return open(path, mode)

    f = ef.EventFile(p, max_bytes=ef.RECORD_SIZE * 5, boot=2, batch=4)
    log = ev.EventLog(16)
    ef.open = counting_open  # pyright: ignore[reportAttributeAccessIssue]
    try:
        for k in range(3):
            log.record(k, EV_CHARGE_ON, 0, k)
        assert f.save(log) == 3 and len(opens) == 1 and f.save(log) == 0 and len(opens) == 1
        for k in range(3, 6):  # 3 more do not fit in the 5-record file: a fresh one
            log.record(k, EV_CHARGE_ON, 0, k)
        assert f.save(log) == 3 and len(opens) == 2
    finally:
        del ef.open  # pyright: ignore[reportAttributeAccessIssue]
    assert [r[2] for r in er.records(f.path)] == list(range(6))
    assert os.stat(p + ".1")[6] == 3 * ef.RECORD_SIZE  # rotated whole, never over the limit
    assert os.stat(p)[6] == 3 * ef.RECORD_SIZE
    _rm(p)


def test_event_file_works_with_any_file_like_object():
    class Sink:
        def __init__(self):
            self.data = bytearray()

        def write(self, b):
            self.data += b

        def read(self):
            return bytes(self.data)

    s = Sink()
    buf = bytearray(ef.RECORD_SIZE)
    er.write_record(s, buf, EV_REMOTE, 0, 1, 1234, 9)
    assert er.read_records(s) == [(EV_REMOTE, 0, 1, 1234, 9)]


def test_latch_round_trip_and_boot_counter():
    p = _path("latch")
    _rm(p)
    st = LatchStore(p)
    assert st.load() == (False, 0, 0)  # no file: a fresh board, not latched
    assert st.next_boot() == 1 and st.next_boot() == 2
    st.save(True, R_OPEN_LOOP)
    st2 = LatchStore(p)
    assert st2.load() == (True, R_OPEN_LOOP, 2)
    st2.save(False, R_OPEN_LOOP)
    assert LatchStore(p).load() == (False, 0, 2)
    _rm(p)


def test_corrupt_latch_record_reads_latched():
    good = bytes(encode(False, 0, 5))
    assert decode(good) == (False, 0, 5)
    for cut in range(8):  # the latch part torn at any byte: never "not latched" by accident
        latched, reason, _ = decode(good[:cut])
        assert latched and reason == R_LATCH_LOST, cut
    for cut in range(8, len(good)):  # only the boot counter torn: the latch part still reads
        assert decode(good[:cut]) == (False, 0, 0), cut
    bad = bytearray(good)
    bad[3] ^= 1
    assert decode(bytes(bad))[:2] == (True, R_LATCH_LOST)
    assert decode(bytes(bad))[2] == 5  # the boot counter has its own CRC
