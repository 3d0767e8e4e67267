"""Zero heap allocation per decoded and per encoded frame, proven with micropython.heap_lock()."""

import vebus_vectors
from vmtest import alloc_bytes, locked, requires_vm

from vebus import ADDR_CONTROLLER, Decoder, encode_data, encode_sync, peers


def _stream():
    return bytearray(b"".join(v for v, _ in vebus_vectors.load()[0]))


def test_decode_allocates_nothing_under_heap_lock():
    requires_vm()
    data = _stream()
    noisy = bytearray(b"\x00\xfb\x10\x6f\xff\x12\x34" + data[:7] + b"\x83\x83\xfe\x01\xff") + data
    hits = [0, 0]

    def on_frame(f):
        hits[0] += f.frame_no >= 0

    def on_reject(reason, raw):
        hits[1] += 1

    dec = Decoder(on_frame, on_reject)
    n = len(data)

    def run():
        dec.feed(data, 0, n)
        for i in range(n):  # one byte at a time: every split point
            dec.feed(data, i, i + 1)
        dec.feed(noisy, 0, len(noisy))

    run()  # warm up outside the lock
    before = list(hits)
    locked(run)
    assert hits[0] - before[0] == 3 * 8
    assert hits[1] - before[1] == 2  # the short frame, then one garbage segment
    assert alloc_bytes(run) == 0


def test_encode_allocates_nothing_under_heap_lock():
    requires_vm()
    out = bytearray(64)
    payload = bytearray(b"\x00\xe6\x37\x02\x83\xd4\xfe")
    sync = bytearray(b"\x55\x51\x18\x02")
    lens = [0, 0]

    def run():
        for n in range(200):
            lens[0] = encode_data(out, ADDR_CONTROLLER, n, payload, len(payload))
            lens[1] = encode_sync(out, n, sync, 4)

    run()
    locked(run)
    assert lens == [14, 10]
    assert alloc_bytes(run) == 0


def test_catalogue_builders_and_mk2_decoder_allocate_nothing():
    requires_vm()
    from vebus import catalogue as cat
    from vebus import mk2

    # A closure with more than 5 free variables allocates its argument array on every call
    # (MicroPython objclosure.c): run() sees a single tuple.
    seen = [0]

    def on_mk2(f):
        seen[0] += 1

    frames = bytearray(mk2.PROBE_BMS_FRAME + b"\x02\xff\x56\xa9\x04\xff\x41\x01\x00\xbb")
    ctx = (cat, mk2, bytearray(32), bytearray(64), frames, mk2.Mk2Decoder(on_mk2))

    def run():
        c, m, p, out, data, dec = ctx
        n = c.build_bms_status(p, True, False, True, False, 200, 0)
        encode_data(out, c.BMS_ADDR, 3, p, n)
        n = c.build_probe_answer(p, 1146100)
        m.encode_vebus(out, p, n)
        peers.build_ac_info(p, 50000, 2472)
        assert c.get(p, peers.AC_FREQ) == 50000
        c.build_switch(p, c.SWITCH_CHARGER_ONLY)
        peers.build_write_via_id(p, 0x42, 0x83, -300)
        dec.feed(data, 0, len(data))

    run()
    locked(run)
    assert seen[0] == 6
    assert alloc_bytes(run) == 0
