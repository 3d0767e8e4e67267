"""lib/vebus decoder at the edges of vebus.md's rules: the exact stuffing escapes, the frame
number's range, the shortest frame right after one garbage byte. Both decoder paths are covered:
a frame at the start of a segment (the per-byte loop) and one found after leading garbage."""

from vebus import ADDR_CONTROLLER, ADDR_MULTI, OK, STUFFING, Decoder, encode_data, frame_sum_ok


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
