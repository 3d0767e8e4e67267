"""lib/vebus MK2 framing against the MK2 vectors and the GX's probe frames."""

import vebus_vectors

from vebus import mk2


class Collect:
    def __init__(self):
        self.frames = []
        self.rejects = []
        self.dec = mk2.Mk2Decoder(self.on_frame, self.on_reject)

    def on_frame(self, f):
        self.frames.append((bytes(f.raw), bytes(f.body), f.cmd, f.vtype, f.probe))

    def on_reject(self, reason, raw):
        self.rejects.append((reason, bytes(raw)))


def mk2_vectors():
    return vebus_vectors.load()[1]


def test_mk2_vectors_decode_and_sum_to_zero():
    cmds = []
    for data, note in mk2_vectors():
        assert mk2.sum_ok(data, len(data)), note
        c = Collect()
        c.dec.feed(data)
        assert c.rejects == [] and len(c.frames) == 1, note
        raw, body, cmd, vtype, probe = c.frames[0]
        assert raw == data and body == data[1:-1] and vtype == -1 and probe == -1
        cmds.append(cmd)
    assert cmds == [mk2.CMD_VERSION, mk2.CMD_VERSION, mk2.CMD_ADDRESS]


def test_encode_reproduces_the_vectors():
    out = bytearray(16)
    for data, note in mk2_vectors():
        n = mk2.encode(out, data[2], data[3:-1])
        assert bytes(out[:n]) == data, note


def test_probe_frames_are_recognised_verbatim():
    for frame, kind in ((mk2.PROBE_BMS_FRAME, 0x83), (mk2.PROBE_DMC_FRAME, 0x80)):
        assert sum(frame) % 256 == 0xF0  # not the usual rule
        assert mk2.probe_kind(frame, len(frame)) == kind
        c = Collect()
        c.dec.feed(frame)
        assert c.frames == [(frame, frame[1:-1], -1, 0x21, kind)]


def test_vebus_data_frame_round_trip():
    out = bytearray(16)
    n = mk2.encode_vebus(out, b"\x20\xff\xff\xff\xff\x83\xf4\x7c\x11\x00")
    assert mk2.sum_ok(out, n) and out[0] == 10
    c = Collect()
    c.dec.feed(out, 0, n)
    assert c.frames[0][3] == 0x20 and c.frames[0][1] == b"\x20\xff\xff\xff\xff\x83\xf4\x7c\x11\x00"


def test_stream_with_garbage_and_splits():
    frames = [d for d, _ in mk2_vectors()] + [mk2.PROBE_BMS_FRAME]
    data = b"\x00\x01" + frames[0] + frames[1] + b"\x05\x99" + frames[2] + frames[3]
    c = Collect()
    for i in range(len(data)):
        c.dec.feed(data, i, i + 1)
    got = [f[0] for f in c.frames]
    assert frames[0] in got and frames[2] in got and frames[3] in got
    assert c.rejects and c.dec.pending() < 16
