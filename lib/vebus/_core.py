"""The decoder's two per-byte loops, compiled with MicroPython's viper emitter where there is one.

The source below is compiled at import by the running interpreter: on a board (rp2, esp32) and
on the unix port as viper native code (about 10x faster per byte than bytecode); where the
native emitter is missing, and on CPython, the very same source runs as plain Python (ptr8 and
ptr32 become identity functions), so every test exercises this code. Keeping it as source text
means mpy-cross needs no -march and a .mpy deploy works on every port.

collect(data, st, ctx, f) -> 0 (data used up), 1 (an FF ended a segment), 2 (buf full)
    copies data[st[2]:st[3]] into buf[st[0]:st[1]] up to and including the next FF. On an FF
    it runs check's body inlined on the segment. A good frame whose exact-length views exist is
    handed out right here (f's fields, counts[0], dec.last_sync, on_frame(f)) and the loop goes
    on: a frame costs no bytecode at all. Otherwise it returns 1 with the segment length in
    st[4], check's result in st[6] and st[0] = 0, and decoder.py does the rest.
    ctx: [buf, pay, payload views, raw views, counts, on_frame, decoder, None, 1, skip] where
    skip is a bytearray(32), one bit per message type: a good frame whose type (payload[0]) has
    its bit set is only counted (counts[0]), not handed out.
check(buf, pay, st, j) -> payload length > 0, or -reason (decoder.py's codes)
    verifies the frame buf[j:st[4]] (FF last): header (st[5] != 0: known addresses only),
    length, checksum (sync frames leave their 0x55 out), canonical checksum escape and byte
    stuffing; de-stuffs the payload into pay.
st: array('i') [n held, capacity, read index, read end, segment length, strict, result]
(decoder.state makes it).
"""

import gc

import micropython

COLLECT = """
@micropython.viper
def collect(data, st, ctx, f) -> int:
    s = ptr32(st)
    d = ptr8(data)
    buf = ctx[0]
    pay = ctx[1]
    pviews = ctx[2]
    rviews = ctx[3]
    counts = ctx[4]
    nothing = ctx[7]
    sk = ptr8(ctx[9])
    b = ptr8(buf)
    k = int(s[0])
    cap = int(s[1])
    i = int(s[2])
    end = int(s[3])
    while i < end:
        c = int(d[i])
        i += 1
        b[k] = c
        k += 1
        if c == 0xFF:
            s[0] = 0
            s[2] = i
            s[4] = k
            j = 0
#CHECK
        if k == cap:
            s[0] = k
            s[2] = i
            return 2
    s[0] = k
    s[2] = i
    return 0
"""

# Appended to the inlined check body in place of its final `return q` (q: payload length).
DELIVER = """
if int(sk[int(p[0]) >> 3]) & (1 << (int(p[0]) & 7)):
    counts[0] = counts[0] + ctx[8]
    k = 0
    continue
s[6] = q
pv = pviews[q]
rv = rviews[n]
if pv is nothing or rv is nothing:
    return 1
f.addr = (int(b[0]) << 8) | int(b[1])
f.t = t
f.frame_no = int(b[3])
f.msg = int(p[0])
f.payload = pv
f.raw = rv
if t == 0xFD:
    ctx[6].last_sync = int(b[3])
counts[0] = counts[0] + ctx[8]
ctx[5](f)
k = 0
continue
"""

CHECK = """
@micropython.viper
def check(buf, pay, st, j: int) -> int:
    b = ptr8(buf)
    p = ptr8(pay)
    s = ptr32(st)
    n = int(s[4])
    if n - j < 4:
        return -4
    t = int(b[j + 2])
    if (t != 0xFD and t != 0xFE) or int(b[j + 3]) > 0x7F:
        return -4
    if int(s[5]):
        a = (int(b[j]) << 8) | int(b[j + 1])
        if a != 0x8383 and a != 0x98F7:
            return -4
    if n - j < 7:
        return -3
    sm = 0
    k = j + 2
    while k < n:
        sm += int(b[k])
        k += 1
    if t == 0xFD:
        if int(b[j + 4]) != 0x55:
            return -1
        sm -= 0x55
    if sm & 0xFF:
        return -1
    e = n - 2
    c = int(b[n - 2])
    if c >= 1 and c <= 5 and int(b[n - 3]) == 0xFA:
        e = n - 3
    elif c > 0xFA:
        return -6
    q = 0
    k = j + 4
    if k >= e:
        return -3
    while k < e:
        x = int(b[k])
        k += 1
        if x >= 0xFA:
            if x != 0xFA or k >= e:
                return -6
            x = int(b[k])
            k += 1
            if x < 0x7A or x > 0x7F:
                return -6
            x += 0x80
        p[q] = x
        q += 1
    return q
"""


def source():
    """collect with check's body inlined at #CHECK (`return x` -> `st[6] = x; return 1`, the
    last `return q` -> DELIVER; its first lines re-read the buffers, harmless), then check
    itself for the slow path."""
    body = CHECK.split("-> int:\n", 1)[1].rstrip().split("\n")
    assert body[-1] == "    return q"
    body = body[:-1] + ["    " + line for line in DELIVER.strip().split("\n")]
    lines = []
    for line in body:
        stripped = line.lstrip()
        if not stripped:
            continue
        pad = "        " + line[: len(line) - len(stripped)]
        if stripped.startswith("return ") and stripped != "return 1":
            lines.append(pad + "s[6] = " + stripped[7:])
            lines.append(pad + "return 1")
        else:
            lines.append(pad + stripped)
    return COLLECT.replace("#CHECK", "\n".join(lines)) + CHECK


def _same(x):
    return x


def _plain(x):
    return x


def load(native=True):
    """(collect, check, native): native is True when viper compiled them."""
    if native:
        # ptr8, ptr32 and int are viper's own: the machine code keeps nothing of this module
        # alive (decoder.py lets it go)
        ns = {"micropython": micropython}  # type: dict
        try:
            exec(source(), ns)
            if type(ns["collect"]) is not type(_plain):
                return _done(ns, True)
        except Exception:  # no native emitter on this port: the same code as bytecode
            pass
    ns = {"micropython": micropython, "ptr8": _same, "ptr32": _same, "int": int}
    exec(source().replace("@micropython.viper\n", ""), ns)
    return _done(ns, False)


def _done(ns, native):
    # The compile leaves ~40 KB of garbage on the 64-bit unix port (source text, parse tree,
    # emitter): collected now, the modules imported next fill that space from the bottom of
    # the heap instead of settling above it and leaving it in holes (the app's least heap
    # budget in tools/bench/bench_board.py: 11 KB less).
    gc.collect()
    return ns["collect"], ns["check"], native
