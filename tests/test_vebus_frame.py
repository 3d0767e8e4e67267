"""lib/vebus frame codec and stream decoder against the real frames of the vectors file."""

import vebus_vectors

from vebus import (
    ADDR_CONTROLLER,
    ADDR_MULTI,
    CHECKSUM,
    GARBAGE,
    OK,
    OVERLONG,
    SHORT,
    STUFFING,
    T_DATA,
    T_SYNC,
    TRUNCATED,
    Decoder,
    encode,
    encode_data,
    encode_sync,
    frame_sum_ok,
    max_encoded_len,
    next_frame_no,
    peers,
)
from vebus import catalogue as cat

# What each vector's note says about it: (addr, T, N, message type), in file order.
EXPECTED = [
    (ADDR_MULTI, T_SYNC, 0x02, 0x55),  # sync frame, N=0x02
    (ADDR_MULTI, T_DATA, 0x3C, 0x00),  # reply to a RAM write, ID 0xE6
    (ADDR_MULTI, T_DATA, 0x03, 0xE4),  # 0xE4 AC phase info
    (ADDR_CONTROLLER, T_DATA, 0x60, 0x3F),  # switch on
    (ADDR_CONTROLLER, T_DATA, 0x6F, 0x3F),  # switch sleep/off
    (ADDR_MULTI, T_DATA, 0x32, 0x00),  # reply frame
    (ADDR_CONTROLLER, T_DATA, 0x3D, 0x00),  # WriteViaID +300
    (ADDR_CONTROLLER, T_DATA, 0x3D, 0x00),  # WriteViaID -300 (stuffed)
]


class Collect:
    """Records every frame and reject a Decoder reports (copies: the views are reused)."""

    def __init__(self, **kw):
        self.frames = []
        self.rejects = []
        self.dec = Decoder(self.on_frame, self.on_reject, **kw)

    def on_frame(self, f):
        self.frames.append((f.addr, f.t, f.frame_no, f.msg, bytes(f.payload), bytes(f.raw)))

    def on_reject(self, reason, raw):
        self.rejects.append((reason, bytes(raw)))

    def feed(self, data):
        self.dec.feed(data)
        return self


def raw_vectors():
    return vebus_vectors.load()[0]


def stream():
    """Every raw vector back to back, as a recorded stream."""
    return b"".join(v for v, _ in raw_vectors())


def test_vectors_file_has_the_expected_frames():
    raw, mk2 = vebus_vectors.load()
    assert len(raw) == len(EXPECTED)
    assert len(mk2) == 3


def test_every_vector_decodes_ok_with_its_n_and_type():
    for (data, note), exp in zip(raw_vectors(), EXPECTED):
        c = Collect().feed(data)
        assert c.rejects == [], (note, c.rejects)
        assert len(c.frames) == 1, note
        addr, t, n, msg, payload, rawb = c.frames[0]
        assert (addr, t, n, msg) == exp, (note, c.frames[0])
        assert rawb == data
        assert c.dec.counts[OK] == 1
        assert frame_sum_ok(data, len(data))


def test_decode_then_encode_gives_the_same_bytes():
    out = bytearray(64)
    for data, note in raw_vectors():
        c = Collect().feed(data)
        addr, t, n, _, payload, _ = c.frames[0]
        k = encode(out, addr, t, n, payload)
        assert bytes(out[:k]) == data, note
        assert k <= max_encoded_len(len(payload))


def test_stuffed_vector_destuffs_fe():
    data = raw_vectors()[7][0]
    c = Collect().feed(data)
    payload = c.frames[0][4]
    assert payload == bytes([0x00, 0xE6, 0x37, 0x02, 0x83, 0xD4, 0xFE])
    assert len(payload) == len(data) - 4 - 2 - 1  # one stuffed byte, 1-byte checksum, FF


def test_sync_checksum_leaves_out_the_0x55():
    sync = raw_vectors()[0][0]
    assert sum(sync[2:]) % 256 == 0x55
    bad = bytearray(sync)
    bad[4] = 0x56  # still "sums" if 0x55 were counted, but the mark is gone
    bad[8] = (bad[8] - 1) & 0xFF
    c = Collect().feed(bad)
    assert c.frames == [] and c.rejects[0][0] == CHECKSUM


def test_every_checksum_value_round_trips():
    # Vary one payload byte so the checksum takes all 256 values, including FA (sent raw) and
    # FB..FF (sent as FA k).
    out = bytearray(32)
    seen = set()
    for v in range(512):
        payload = bytes([0x00, 0x42, v & 0xFF, 0x10 + (v >> 8) * 0x20])
        k = encode_data(out, ADDR_CONTROLLER, 5, payload)
        frame = bytes(out[:k])
        assert frame[-1] == 0xFF and frame.find(b"\xff") == k - 1
        assert frame_sum_ok(frame, k)
        c = Collect().feed(frame)
        assert c.rejects == [], (v, frame)
        assert c.frames[0][4] == payload
        cs = (1 - sum(frame[2:4]) - sum(_stuffed(payload))) & 0xFF
        seen.add(cs)
        if cs == 0xFA:
            assert frame[-2:] == b"\xfa\xff"
        elif cs > 0xFA:
            assert frame[-3:] == bytes([0xFA, cs - 0xFA, 0xFF])
    assert len(seen) == 256


def _stuffed(payload):
    out = []
    for b in payload:
        out += [0xFA, 0x70 | (b & 0xF)] if b >= 0xFA else [b]
    return out


def test_every_payload_byte_value_is_stuffed_and_restored():
    out = bytearray(max_encoded_len(256))
    payload = bytes(range(256))
    k = encode_data(out, ADDR_MULTI, 0x7F, payload)
    assert [i for i in range(k) if out[i] == 0xFF] == [k - 1]
    c = Collect(maxlen=k).feed(out[:k])
    assert c.frames[0][4] == payload


def test_single_bit_corruptions_are_rejected_or_visible():
    for data, note in raw_vectors():
        good = Collect().feed(data).frames[0][:5]
        for i in range(len(data)):
            for bit in range(8):
                bad = bytearray(data)
                bad[i] ^= 1 << bit
                c = Collect().feed(bad)
                got = [f[:5] for f in c.frames]
                assert good not in got, (note, i, bit, c.frames)
                assert len(c.frames) + len(c.rejects) >= 1 or c.dec.pending(), (note, i, bit)


class Rand:
    """xorshift32: the same sequence on both VMs."""

    def __init__(self, seed):
        self.s = seed or 1

    def next(self, n):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s % n


def test_random_splits_give_the_same_frames():
    data = stream() * 3
    whole = Collect().feed(data)
    assert len(whole.frames) == 3 * len(EXPECTED) and whole.rejects == []
    rnd = Rand(12345)
    for _ in range(40):
        c = Collect()
        i = 0
        while i < len(data):
            k = 1 + rnd.next(12)
            c.dec.feed(data, i, min(len(data), i + k))
            i += k
        assert c.frames == whole.frames
        assert c.rejects == []


def test_one_byte_at_a_time():
    data = stream()
    c = Collect()
    for b in data:
        c.dec.feed(bytes([b]))
    assert c.frames == Collect().feed(data).frames


def test_short_frames_are_skipped_and_counted():
    data = stream()
    c = Collect().feed(b"\x00\xfb\x10\x6f\xff" + data[:10] + b"\x00\xfb\x7f\x00\xff" + data[10:])
    assert len(c.frames) == len(EXPECTED)
    assert [r[0] for r in c.rejects] == [SHORT, SHORT]
    assert c.dec.counts[SHORT] == 2
    # x + y != 0x7F is not a short frame
    assert Collect().feed(b"\x00\xfb\x10\x10\xff").rejects[0][0] == GARBAGE


def test_garbage_before_a_frame_is_rejected_and_the_frame_found():
    data = raw_vectors()[2][0]
    c = Collect().feed(b"\x12\x34\x56" + data)
    assert len(c.frames) == 1 and c.frames[0][5] == data
    assert c.rejects == [(GARBAGE, b"\x12\x34\x56")]


def test_truncated_frame_followed_by_a_frame():
    a, b = raw_vectors()[3][0], raw_vectors()[2][0]
    c = Collect().feed(a[:6] + b)
    assert [f[5] for f in c.frames] == [b]
    assert c.rejects == [(TRUNCATED, a[:6])]
    assert Collect().feed(b"\x83\x83\xfe\x01\xff").rejects[0][0] == TRUNCATED


def test_bad_checksum_and_bad_stuffing():
    data = bytearray(raw_vectors()[1][0])
    data[5] ^= 0x01
    assert Collect().feed(data).rejects[0][0] == CHECKSUM
    # FA followed by something other than 7A..7F, checksum made valid: a stuffing error
    bad = bytearray(b"\x98\xf7\xfe\x01\x00\xfa\x10\x00\xff")
    bad[7] = (1 - sum(bad[2:7])) & 0xFF
    assert frame_sum_ok(bad, len(bad))
    assert Collect().feed(bad).rejects[0][0] == STUFFING


def test_overlong_is_rejected_and_memory_stays_bounded():
    frame = raw_vectors()[2][0]
    body = b"\x83\x83\xfe\x01" + bytes(200)
    c = Collect(maxlen=64)
    c.dec.feed(body)
    assert c.dec.pending() <= 64
    c.dec.feed(b"\xff" + frame)
    assert c.dec.counts[OVERLONG] == 1
    assert [f[5] for f in c.frames] == [frame]
    junk = bytes((i * 37) & 0x7F for i in range(5000))
    c.dec.feed(junk)
    assert c.dec.pending() <= 64
    c.dec.feed(b"\xff" + frame)
    assert [f[5] for f in c.frames] == [frame, frame]


def test_unknown_address_only_when_not_strict():
    out = bytearray(32)
    k = encode_data(out, 0x1234, 9, b"\x20\x01\x02")
    assert Collect().feed(out[:k]).frames == []
    loose = Collect(strict=False).feed(out[:k])
    assert loose.frames[0][0] == 0x1234 and loose.frames[0][2] == 9


def test_frame_numbers():
    assert next_frame_no(0x02) == 0x03
    assert next_frame_no(0x7F) == 0x00
    c = Collect()
    assert c.dec.last_sync == -1
    c.feed(stream())
    assert c.dec.last_sync == 0x02
    assert next_frame_no(c.dec.last_sync) == 0x03


def test_unescaped_checksum_is_rejected():
    # Found by hypothesis: a raw FC where the checksum goes must have been sent as FA 02.
    bad = bytearray(b"\x83\x83\xfd\x06\x55\x51\x18\x02\x97\x00\xff")
    bad[9] = (1 - sum(bad[2:9]) + 0x55) & 0xFF
    assert bad[9] > 0xFA and frame_sum_ok(bad, len(bad))
    c = Collect().feed(bad)
    assert c.frames == [] and c.rejects[0][0] == STUFFING


def test_native_core_on_the_vm_and_the_same_code_as_bytecode():
    import sys

    from vebus import _core, decoder

    assert decoder.NATIVE == (sys.implementation.name == "micropython")
    collect_p, check_p, native = _core.load(native=False)
    assert not native
    buf, pay, pay2 = bytearray(80), bytearray(80), bytearray(80)
    st, st2 = decoder.state(80, True), decoder.state(80, True)
    for data, _ in raw_vectors():
        for i in range(-1, len(data)):
            for bit in (0, 3, 7) if i >= 0 else (0,):
                frame = bytearray(data)
                if i >= 0:
                    frame[i] ^= 1 << bit
                for k in range(len(frame)):
                    buf[k] = frame[k]
                st[4] = st2[4] = len(frame)
                a = decoder._check(buf, pay, st, 0)
                b = check_p(buf, pay2, st2, 0)
                assert a == b and pay[: max(a, 0)] == pay2[: max(b, 0)], (data, i, bit)
    # collect over a whole stream: the frames it hands out itself (views made) and the
    # returns to decoder.py (views not made yet) are the same for both builds.
    d = stream()
    runs = []
    for fn in (decoder._collect, collect_p):
        got = []
        f = decoder.Frame()
        raw, pay = bytearray(80), bytearray(80)
        pviews = [None] * 81  # type: list[memoryview | None]
        rviews = [None] * 81  # type: list[memoryview | None]
        for k in range(4, 81, 2):  # half the lengths known: both paths are taken
            pviews[k], rviews[k] = memoryview(pay)[:k], memoryview(raw)[:k]
        counts = [0] * 7
        dec = decoder.Decoder()
        skip = bytearray(32)
        skip[0xE4 >> 3] = 1 << (0xE4 & 7)  # AC info frames: counted, not handed out, by both
        ctx = [raw, pay, pviews, rviews, counts, None, dec, None, 1, skip]

        def on(f, got=got):
            got.append((f.addr, f.t, f.frame_no, f.msg, bytes(f.payload), bytes(f.raw)))

        ctx[5] = on
        st = decoder.state(80, True)
        st[3] = len(d)
        while True:
            r = fn(d, st, ctx, f)
            got.append((r, st[4], st[6]))
            if r == 0:
                break
        runs.append((got, counts[0], dec.last_sync))
    assert runs[0] == runs[1]
    assert runs[0][1] > 0 and any(x[0] == 1 for x in runs[0][0] if len(x) == 3)


_P = bytearray(32)


def test_skipped_message_types_are_counted_not_handed_out():
    # Every Multi frame costs a callback; a skipped type costs none but still counts (the BMS
    # role closes its slot on any frame after the sync: vebus.md).
    out = bytearray(40)
    sync = bytes(out[: encode_sync(out, 3, _P, peers.build_sync(_P, 0, 0))])
    ac = bytes(out[: encode_data(out, ADDR_MULTI, 4, _P, peers.build_ac_info(_P, 50000, 1300))])
    led = bytes(
        out[: encode_data(out, ADDR_MULTI, 5, _P, peers.build_led(_P, 1, 0, 0, 0, 0, 0, 0))]
    )
    seen = []
    dec = Decoder(lambda f: seen.append(f.msg))
    dec.skip(cat.MSG_AC_INFO)
    dec.skip(0x55)  # a sync is never skipped
    for _ in range(2):  # the second round: every length known, the viper path delivers
        dec.feed(sync + ac + led + ac)
    assert seen == [0x55, cat.MSG_LED] * 2 and dec.counts[0] == 8 and dec.rejects() == 0
