"""lib/vebus decoder: resynchronising after junk (vebus.md: a receiver finds the next frame after
garbage, truncated or overlong frames). Every frame after any junk is delivered intact, every junk
byte is rejected exactly once, whatever the chunking, also when the junk fills the decoder's
buffer with no FF in it (the buffer is cut back to the next possible frame start)."""

from vebus import ADDR_CONTROLLER, ADDR_MULTI, OK, Decoder, encode_data

# Fragments that start like a frame, a short frame or neither (vebus.md: A0 A1 = 83 83 or 98 F7,
# T = FD / FE, N <= 0x7F; short frames 00 FB x y FF).
_TRICKY = (
    b"",
    b"\x12",
    b"\x00",
    b"\x00\x12",
    b"\x00\xfb",
    b"\x00\xfb\x10",
    b"\x83",
    b"\x83\x12",
    b"\x83\x83",
    b"\x83\x83\xfc",
    b"\x83\x83\xfd",
    b"\x83\x83\xfe\x80",
    b"\x83\x83\xfe\x05",
    b"\x98\xf7\xfe\x05\x20",
    b"\x98",
    b"\x98\xf7",
    b"\x98\x12",
)


class _Got:
    def __init__(self, maxlen):
        self.frames = []
        self.junk = 0
        self.dec = Decoder(self.on_frame, self.on_reject, maxlen)

    def on_frame(self, f):
        self.frames.append(bytes(f.raw))

    def on_reject(self, reason, raw):
        self.junk += len(raw)


def _frames():
    out = bytearray(32)
    a = bytes(out[: encode_data(out, ADDR_MULTI, 5, b"\x20\x01\x02")])
    b = bytes(out[: encode_data(out, ADDR_CONTROLLER, 6, b"\x00")])
    return a, b


def _run(data, maxlen, step):
    g = _Got(maxlen)
    for i in range(0, len(data), step):
        g.dec.feed(data, i, min(i + step, len(data)))
    return g


def test_a_frame_after_any_junk_is_found_and_the_junk_rejected_once():
    a, b = _frames()
    cases = 0
    overflowed = 0  # cases whose junk filled the buffer (the overlong path ran)
    for fill in (0, 1, 7, 15, 23):
        for tricky in _TRICKY:
            junk = b"\x12" * fill + tricky
            data = junk + a + b
            for step in (1, 5, len(data)):
                g = _run(data, 16, step)
                assert g.frames == [a, b], (junk, step)
                assert g.junk == len(junk), (junk, step, g.junk)
                assert g.dec.counts[OK] == 2
                cases += 1
                overflowed += g.dec.counts[2] > 0 or len(junk) + len(a) > 16
    assert cases == 5 * len(_TRICKY) * 3 and overflowed > cases // 3


def test_a_truncated_frame_then_a_frame_inside_overlong_junk():
    # The junk ends with the first bytes of the same frame (cut short, as when a sender stops):
    # cutting the full buffer back keeps each possible frame start, so the whole frame that
    # follows is delivered and the cut one rejected.
    a, _ = _frames()
    for head in range(1, len(a) - 1):
        for fill in range(8, 20):
            data = b"\x12" * fill + a[:head] + a
            for step in (1, 3):
                g = _run(data, 16, step)
                assert g.frames == [a], (head, fill, step)
                assert g.junk == fill + head, (head, fill, step)
