"""lib/vebus decoder at the edges of vebus.md's rules: the exact stuffing escapes, the frame
number's range, the shortest frame right after one garbage byte. Both decoder paths are covered:
a frame at the start of a segment (the per-byte loop) and one found after leading garbage."""

from vmtest import raises

from vebus import (
    ADDR_CONTROLLER,
    ADDR_MULTI,
    GARBAGE,
    OK,
    SHORT,
    STUFFING,
    TRUNCATED,
    Decoder,
    encode_data,
    frame_sum_ok,
    peers,
)
from vebus import catalogue as cat


class Got:
    def __init__(self):
        self.frames = []
        self.rejects = []
        self.dec = Decoder(self.on_frame, self.on_reject)

    def on_frame(self, f):
        self.frames.append((f.addr, f.frame_no, bytes(f.payload)))

    def on_reject(self, reason, raw):
        self.rejects.append(reason)


def _frame(head, body):
    """head (A0 A1 T N) + body (bytes from index 4, as sent) + a checksum that needs no escape
    (a pad byte before it steers it to 0x10) + FF. The receiver's sum rule holds (vebus.md)."""
    pad = (1 - 0x10 - sum(head[2:]) - sum(body)) & 0xFF
    cs = 0x10
    if pad >= 0xFA:  # a pad that would need stuffing: aim the checksum elsewhere
        pad = 0x01
        cs = (1 - sum(head[2:]) - sum(body) - pad) & 0xFF
        assert cs < 0xFA
    f = bytes(head) + bytes(body) + bytes([pad, cs, 0xFF])
    assert frame_sum_ok(f, len(f))
    return f


def _decode(data):
    g = Got()
    g.dec.feed(data)
    return g


def test_only_fa_7a_to_fa_7f_are_escapes():
    # vebus.md: a byte 0xFA..0xFF is sent as FA then 0x70 | (b & 0x0F): FA 7A .. FA 7F only.
    for x in range(0xFF):  # FF would end the frame
        f = _frame(b"\x98\xf7\xfe\x01", bytes([0x00, 0xFA, x]))
        for lead in (b"", b"\x12"):  # at a segment's start, and after one garbage byte
            g = _decode(lead + f)
            if 0x7A <= x <= 0x7F:
                assert len(g.frames) == 1 and g.frames[0][2][1] == x + 0x80, hex(x)
            else:
                assert g.frames == [] and g.dec.counts[OK] == 0, hex(x)
                assert lead or g.rejects == [STUFFING], hex(x)


def test_a_frame_number_above_0x7f_is_never_delivered():
    # vebus.md: N is 0..127 ((N of the last sync + 1) & 0x7F)
    for n in (0x00, 0x7F, 0x80, 0x81, 0xC3, 0xFE):
        f = _frame(bytes([0x83, 0x83, 0xFE, n]), b"\x20\x01")
        for lead in (b"", b"\x12"):
            g = _decode(lead + f)
            if n <= 0x7F:
                assert [x[1] for x in g.frames] == [n], (hex(n), lead)
            else:
                assert g.frames == [] and g.dec.counts[OK] == 0, (hex(n), lead)


def test_the_shortest_frame_right_after_one_garbage_byte_is_found():
    # vebus.md: a decoder resynchronises after garbage. 7 bytes: A0 A1 T N type CS FF.
    out = bytearray(16)
    for addr in (ADDR_MULTI, ADDR_CONTROLLER):
        n = encode_data(out, addr, 5, b"\x20")
        assert n == 7
        for garbage in (b"\x12", b"\x00", b"\x83", b"\x12\x34"):
            g = _decode(garbage + bytes(out[:n]))
            assert g.frames == [(addr, 5, b"\x20")], (hex(addr), garbage)


def test_a_bad_frame_right_after_good_ones_is_rejected_and_payloads_stay_right():
    # vebus.md: a receiver checks the checksum of every frame; payload = de-stuffed bytes 4..CS
    out = bytearray(40)
    short = bytes(out[: encode_data(out, ADDR_MULTI, 1, b"\x20")])  # 7 bytes on the wire
    pay = bytes(range(0x21, 0x28))  # 7 payload bytes: as long as the short frame's raw bytes
    long = bytes(out[: encode_data(out, ADDR_MULTI, 2, pay)])
    bad = bytearray(long)
    bad[6] ^= 0x01  # checksum now wrong
    g = _decode(short + short + long + long + bytes(bad) + long)
    assert [f[2] for f in g.frames] == [b"\x20", b"\x20", pay, pay, pay]
    assert g.dec.counts[OK] == 5 and g.dec.rejects() == 1


def test_flush_and_reset_end_a_held_partial_frame():
    # a bus silence: what the decoder holds is a truncated frame (or garbage), never joined on
    out = bytearray(16)
    f = bytes(out[: encode_data(out, ADDR_MULTI, 5, b"\x20\x01")])
    g = Got()
    g.dec.feed(f[:5])
    assert g.dec.pending() == 5
    g.dec.flush()
    assert g.dec.pending() == 0 and g.rejects == [TRUNCATED]
    g.dec.feed(b"\x12\x34")
    g.dec.flush()
    assert g.rejects == [TRUNCATED, GARBAGE] and g.dec.rejects() == 2
    g.dec.feed(f[:5])
    g.dec.reset()  # forgotten, not rejected
    assert g.dec.pending() == 0 and g.dec.rejects() == 2
    g.dec.feed(f)
    assert g.frames == [(ADDR_MULTI, 5, b"\x20\x01")] and g.dec.counts[OK] == 1
    g.dec.flush()  # nothing held: nothing rejected
    assert g.dec.rejects() == 2


def test_rejects_counts_every_reason():
    g = _decode(b"\x12\xff" + b"\x83\x83\xfe\x01\xff" + b"\x00\xfb\x10\x6f\xff")
    assert g.dec.rejects() == sum(g.dec.counts[1:]) == len(g.rejects) == 3


def test_a_decoder_needs_room_for_16_bytes():
    raises(ValueError, Decoder, None, None, 15)
    assert Decoder(None, None, 16).pending() == 0


def test_a_short_frame_after_garbage_is_skipped_and_the_garbage_rejected():
    # vebus.md: short frames 00 FB x y FF (x + y = 0x7F) appear while a Multi boots: skip them
    g = _decode(b"\x12\x34\x00\xfb\x10\x6f\xff")
    assert g.rejects == [GARBAGE, SHORT] and g.frames == []
    out = bytearray(16)
    f = bytes(out[: encode_data(out, ADDR_MULTI, 5, b"\x20\x01")])
    g = _decode(f[:6] + b"\x00\xfb\x7f\x00\xff" + f)
    assert g.rejects == [TRUNCATED, SHORT] and [x[1] for x in g.frames] == [5]


def test_every_builder_writes_every_byte_of_its_payload():
    # a reused buffer (the BMS builds every frame in one) must not leak old bytes into a frame
    builds = (
        lambda p: peers.build_sync(p, 3, 0x1234),
        lambda p: cat.build_winmon(p, 0x51, 0x05),
        lambda p: cat.build_winmon(p, 0x51, 0x0E, b"\x01\x02", 2),
        lambda p: peers.build_write_via_id(p, 0x51, 0x20, -300),
        lambda p: cat.build_switch(p, cat.SWITCH_SLEEP),
        lambda p: peers.build_led(p, 1, 0, 2, 0, 160, 160, 0),
        lambda p: peers.build_condition(p, True, -123),
        lambda p: peers.build_ac_info(p, 50000, 26 * 50),
        lambda p: peers.build_probe(p),
        lambda p: cat.build_probe_answer(p, 1146100),
        lambda p: cat.build_bms_status(p, True, False, True, True, 25, 15),
    )
    for k, build in enumerate(builds):
        clean = bytearray(32)
        dirty = bytearray(b"\xa5" * 32)
        n = build(clean)
        assert build(dirty) == n and dirty[:n] == clean[:n], k
    p = bytearray(b"\xa5" * 32)
    n = cat.build_probe_answer(p, 1146100)
    assert peers.answer_version(p, n) == 1146100 and peers.answer_version(p, n - 1) == -1
    n = cat.build_bms_status(p, True, True, False, False)
    assert peers.is_bms_status(p, n) and not peers.is_bms_status(p, n - 1)
    n = peers.build_probe(p)
    assert cat.probe_kind(p, n) == cat.PROBE_BMS
    p[2] = 0x00  # the probe's bytes 1..4 are FF
    assert cat.probe_kind(p, n) == -1
