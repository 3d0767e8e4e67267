"""lib/vebus on the MicroPython unix port: decode speed vs the line rate, allocation per frame.

Stream: 20 ms bus cycles as a Multi and a controller make them: sync, 0xE4 AC info, 0x41 LED,
0x80 condition, a controller's switch command and a Winmon reply (the vectors' shapes, frame
numbers counting on). Keys:
  vebus_decode_x_line_rate           decoded bytes per second / 25 600 B/s (target >= 1000)
  vebus_decode_alloc_bytes_per_frame heap bytes allocated per decoded frame (target 0)
  vebus_encode_alloc_bytes_per_frame heap bytes allocated per encoded frame (target 0)
"""

from tools.bench.vm import run_vm_script

CODE = """
import gc, json, time
from vebus import Decoder, encode, ADDR_MULTI, ADDR_CONTROLLER, T_SYNC, T_DATA
from vebus import catalogue as cat
from vebus import peers

LINE_RATE = 25600
CYCLES = 40

def payload(p, k, c):
    if k == 0:
        return peers.build_sync(p, 0x51, c * 222)
    if k == 1:
        return peers.build_ac_info(p, 50000 - c, 2400 + c, c % 3)
    if k == 2:
        return peers.build_led(p, 9, 0, 0, 10, 500, 160 + c, 3)
    if k == 3:
        return peers.build_condition(p, True, -50 + c)
    if k == 4:
        return cat.build_switch(p, 7)
    return cat.build_winmon(p, 0x42, 0x87, b"", 0)

SHAPES = ((ADDR_MULTI, T_SYNC), (ADDR_MULTI, T_DATA), (ADDR_MULTI, T_DATA),
          (ADDR_MULTI, T_DATA), (ADDR_CONTROLLER, T_DATA), (ADDR_MULTI, T_DATA))

def build():
    p = bytearray(32)
    stream = bytearray(CYCLES * 6 * 40)
    msgs = [None] * (CYCLES * 6)
    no = 0
    i = 0
    for c in range(CYCLES):
        for k in range(6):
            n = payload(p, k, c)
            addr, t = SHAPES[k]
            m = encode(memoryview(stream)[i:], addr, t, no, p, n)
            i += m
            msgs[c * 6 + k] = (addr, t, no, bytes(p[:n]))
            no = (no + 1) & 0x7F
    return memoryview(stream)[:i], msgs

stream, msgs = build()
hits = [0]

def on_frame(f):
    hits[0] += 1

dec = Decoder(on_frame)
n = len(stream)
dec.feed(stream, 0, n)
assert hits[0] == len(msgs), (hits[0], len(msgs))

def decode_all(reps):
    for _ in range(reps):
        dec.feed(stream, 0, n)

def decode_chunked(reps):
    for _ in range(reps):
        i = 0
        while i < n:
            j = i + 64 if i + 64 < n else n
            dec.feed(stream, i, j)
            i = j

# Best of many short runs: the machine may be busy with other work (the fastest run is the
# one least disturbed); whole-stream and 64-byte-chunk feeding both count.
best = 0.0
for fn in (decode_all, decode_chunked) * 10:
    reps = 30  # ~100 ms a run: long enough that timer resolution and one wake-up do not dominate
    t0 = time.ticks_us()
    fn(reps)
    dt = time.ticks_diff(time.ticks_us(), t0) / 1e6
    rate = reps * n / dt
    best = rate if rate > best else best

gc.collect()
gc.disable()
a0 = gc.mem_alloc()
frames0 = hits[0]
decode_chunked(3)
dec_alloc = gc.mem_alloc() - a0
dec_frames = hits[0] - frames0
gc.enable()

out = bytearray(64)
bufs = [(a, t, no, bytearray(pl), len(pl)) for a, t, no, pl in msgs]

def encode_all():
    for a, t, no, pl, pn in bufs:
        encode(out, a, t, no, pl, pn)

encode_all()
gc.collect()
gc.disable()
a0 = gc.mem_alloc()
encode_all()
encode_all()
enc_alloc = gc.mem_alloc() - a0
gc.enable()

print(json.dumps({
    "vebus_decode_x_line_rate": round(best / LINE_RATE, 1),
    "vebus_decode_alloc_bytes_per_frame": dec_alloc / dec_frames,
    "vebus_encode_alloc_bytes_per_frame": enc_alloc / (2 * len(bufs)),
    "vebus_bench_stream_bytes": n,
    "vebus_bench_frames_per_pass": len(msgs),
}))
"""

GOALS = {
    "vebus_decode_x_line_rate": (">=", 1000),
    "vebus_decode_alloc_bytes_per_frame": ("==", 0),
    "vebus_encode_alloc_bytes_per_frame": ("==", 0),
}


def run():
    return run_vm_script(CODE)
